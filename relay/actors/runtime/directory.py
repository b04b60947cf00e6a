"""What is stored about each agent that authorization and sends need, kept in memory so
the hot paths (an inbox fetch, a direct send) read no card from the store.

Every fetch and ack authorizes its caller on the agent's stored orchestrator and working
directory, and every send checks that its sender and addressee exist: a store read each
(about a fifth of a message's store time). The ``AgentActor`` is the only writer of an
agent's card. It records the card here when it loads it (read behind its queued writes:
the stored card) and when a write of the card commits, and forgets it when a write fails
or a delete commits. Commits settle in queue order, so the entry is always the last
committed card's: a change queued but not committed (or never committed) authorizes
nothing, exactly as a store read would.

Every stored agent is recorded at start-up (``prime``, a recovery of the agent aggregate),
so a miss is rare: an agent deleted, or one whose last write failed. It says nothing: the
caller reads the store. The event stream's guard, which cannot read the store per event,
withholds what a miss leaves unjudged. Actor and store threads write (under a lock, for
the prime's sake), trio reads (plain dict reads, atomic under the GIL). A relay that loses
leadership exits, so no entry outlives the term it was recorded in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from relay.domain.agents import Placement


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """An existing agent's orchestrator and working directory (who acts for it) and
    whether a runner manages it (whether a first delivery wakes it)."""

    orchestrator_id: str | None
    runner_managed: bool
    cwd: str | None  # ``meta.cwd`` as ``agents.stored_cwd`` reads it

    @property
    def placement(self) -> Placement:
        return Placement(self.orchestrator_id, self.cwd)


class AgentDirectory:
    def __init__(self) -> None:
        self._facts: dict[str, AgentFacts] = {}
        # The agents stored under each orchestrator: a stream guard asking whether its
        # host acts for any agent looks at that host's agents, not at every agent.
        self._hosted: dict[str | None, set[str]] = {}
        # While a prime reads the store: the agents recorded or forgotten meanwhile, whose
        # entries are newer than what the prime read. The lock makes a change and the
        # prime's check-then-write exclusive (actor threads change, trio primes).
        self._priming: set[str] | None = None
        self._lock = threading.Lock()

    def record(self, agent_id: str, facts: AgentFacts) -> None:
        """This card is stored (loaded, or its write committed)."""
        with self._lock:
            self._put(agent_id, facts)
            if self._priming is not None:
                self._priming.add(agent_id)

    def _put(self, agent_id: str, facts: AgentFacts | None) -> None:
        """Under the lock: the entry, and the host index with it (None: forget it)."""
        before = self._facts.pop(agent_id, None)
        if before is not None:
            hosted = self._hosted.get(before.orchestrator_id)
            if hosted is not None:
                hosted.discard(agent_id)
                if not hosted:
                    del self._hosted[before.orchestrator_id]
        if facts is not None:
            self._facts[agent_id] = facts
            self._hosted.setdefault(facts.orchestrator_id, set()).add(agent_id)

    def forget(self, agent_id: str) -> None:
        """Nothing known for sure: deleted, not found on load, or its last write failed."""
        with self._lock:
            self._put(agent_id, None)
            if self._priming is not None:
                self._priming.add(agent_id)

    def begin_prime(self) -> None:
        """A read of every stored agent starts: changes from now on win over what it read."""
        with self._lock:
            self._priming = set()

    def prime(self, facts: Mapping[str, AgentFacts]) -> None:
        """Record what the read begun by ``begin_prime`` found, but for the agents recorded
        or forgotten since (their entries are newer)."""
        with self._lock:
            changed = self._priming or set()
            for agent_id, found in facts.items():
                if agent_id not in changed:
                    self._put(agent_id, found)
            self._priming = None

    def ids(self) -> list[str]:
        """Every agent recorded now (a copy: actor threads record and forget meanwhile)."""
        with self._lock:
            return list(self._facts)

    def hosted_by(self, orchestrator_ids: Iterable[str]) -> list[str]:
        """The agents recorded under these orchestrators now (a copy)."""
        with self._lock:
            return [a for o in orchestrator_ids for a in self._hosted.get(o, ())]

    def known(self, agent_ids: Iterable[str]) -> tuple[dict[str, AgentFacts], list[str]]:
        """``(facts of those recorded, the others)``: the others must be read from the store."""
        found: dict[str, AgentFacts] = {}
        missing: list[str] = []
        for agent_id in dict.fromkeys(agent_ids):
            facts = self._facts.get(agent_id)
            if facts is None:
                missing.append(agent_id)
            else:
                found[agent_id] = facts
        return found, missing
