"""What is stored about each agent that authorization and sends need, kept in memory so
the hot paths (an inbox fetch, a direct send) read no card from the store.

Every fetch and ack authorizes its caller on the agent's stored orchestrator, and every
send checks that its sender and addressee exist: a store read each (about a fifth of a
message's store time). The ``AgentActor`` is the only writer of an agent's card. It records
the card here when it loads it (read behind its queued writes: the stored card) and when a
write of the card commits, and forgets it when a write fails or a delete commits. Commits
settle in queue order, so the entry is always the last committed card's: a change queued
but not committed (or never committed) authorizes nothing, exactly as a store read would.

A miss says nothing (an agent registered before this process started and not active
since, or one whose last write failed): the caller reads the store. Plain dict
operations, atomic under the GIL: actor and store threads write, trio reads. A relay
that loses leadership exits, so no entry outlives the term it was recorded in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """An existing agent's orchestrator (who acts for it) and whether a runner manages it
    (whether a first delivery wakes it)."""

    orchestrator_id: str | None
    runner_managed: bool


class AgentDirectory:
    def __init__(self) -> None:
        self._facts: dict[str, AgentFacts] = {}

    def record(self, agent_id: str, facts: AgentFacts) -> None:
        """This card is stored (loaded, or its write committed)."""
        self._facts[agent_id] = facts

    def forget(self, agent_id: str) -> None:
        """Nothing known for sure: deleted, not found on load, or its last write failed."""
        self._facts.pop(agent_id, None)

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
