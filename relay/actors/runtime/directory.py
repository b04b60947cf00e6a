"""What the agents' actors hold about each agent that authorization and sends need, kept in
memory so the hot paths (an inbox fetch, a direct send) read no card from the store.

Every fetch and ack authorizes its caller on the agent's stored orchestrator, and every
send checks that its sender and addressee exist: a store read each (about a fifth of a
message's store time). The ``AgentActor`` is the only writer of an agent's card, so what it
holds is the stored card or a change it has queued (its writes commit in order, and a
failed one makes it reload, which records the stored card again). It records its card here
whenever it loads or changes it, and forgets it on delete.

A miss says nothing (an agent registered before this process started and not active
since): the caller reads the store. Nothing but the actors writes here, so a read racing
a delete can never leave a stale entry behind. Plain dict operations, atomic under the GIL:
actor threads write, trio reads.
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
        """The agent's actor holds this card (loaded, registered, changed)."""
        self._facts[agent_id] = facts

    def forget(self, agent_id: str) -> None:
        """The agent's actor holds no card: deleted, or not found on load."""
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
