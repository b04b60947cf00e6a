"""Which ``pair`` events a stream subscriber receives: those of pairs it would read over
HTTP (``flows.readable``: a party it acts for, its creator, or an unconstrained operator),
live and on replay alike.

Covering an agent is not acting for it: a provider token limited to o1 reads o1's agent
cards, not the pairs of o1's agents, and so none of their events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from relay.actors.runtime.directory import AgentDirectory
from relay.auth.access import Principal, acts_for, is_named, is_unconstrained_operator
from relay.events import EventGuard
from relay.store.stream import StreamEvent

EVENT = "pair"


@dataclass(frozen=True, slots=True)
class PairEvents:
    """A stream's guard (``relay.events.EventGuard``) for a caller that is no unconstrained
    operator (``of``): a ``pair`` event passes if the caller acts for its driver or its
    navigator, or is its creator (acting for it when it was an agent, as stored; being it
    otherwise), judged by ``acts_for`` on where the agents' actors' memory holds them
    stored (an agent memory does not hold is acted for by none). Other events pass; then
    ``then`` decides."""

    sub: str
    role: str
    constraints: tuple[tuple[str, tuple[str, ...]], ...]
    agents: AgentDirectory
    then: EventGuard | None = None
    _caller: Principal = field(init=False, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        caller = Principal(
            sub=self.sub,
            role=self.role,
            scope=frozenset(),
            constraints={kind: list(values) for kind, values in self.constraints},
        )
        object.__setattr__(self, "_caller", caller)

    @classmethod
    def of(
        cls, caller: Principal, then: EventGuard | None, agents: AgentDirectory
    ) -> EventGuard | None:
        """The guard for ``caller``: ``then`` alone for root and unconstrained operators,
        who read every pair."""
        if is_unconstrained_operator(caller):
            return then
        constraints = tuple(sorted((k, tuple(v)) for k, v in caller.constraints.items()))
        return cls(caller.sub, caller.role, constraints, agents, then)

    def admits(self, event: StreamEvent) -> bool:
        if event.event == EVENT and not self._reads(event.data):
            return False
        return self.then is None or self.then.admits(event)

    def _reads(self, data: object) -> bool:
        pair = data.get("pair") if isinstance(data, dict) else None
        if not isinstance(pair, dict):
            return False
        parties = [p for p in (pair.get("driver"), pair.get("navigator")) if isinstance(p, str)]
        if any(self._acts_for(party) for party in parties):
            return True
        creator = pair.get("createdBy")
        if not isinstance(creator, str):
            return False
        assert isinstance(data, dict)
        was_agent = data.get("createdByAgent")
        if was_agent is None:  # stored before the kind was kept: decided now
            was_agent = creator in self.agents.known([creator])[0]
        return self._acts_for(creator) if was_agent else is_named(self._caller, creator)

    def _acts_for(self, agent_id: str) -> bool:
        facts = self.agents.known([agent_id])[0].get(agent_id)
        return facts is not None and acts_for(self._caller, agent_id, facts.placement)
