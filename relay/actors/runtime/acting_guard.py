"""The base of the stream guards that admit an event by whom the caller acts for.

A record's events reach who reads the record over HTTP: a message's or a delivery's
(``messaging.events``), a pair's (``pairs.events``). Those reads are judged by
``acts_for`` on where each agent is stored; a guard judges the same, on where the agents'
actors' memory holds them stored (``agents``: never a store read per event; an agent
memory does not hold is acted for by none). Root and unconstrained operators read every
such record, and get no guard (``of``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from relay.actors.runtime.directory import AgentDirectory
from relay.auth.access import Principal, acts_for, is_unconstrained_operator
from relay.events import EventGuard
from relay.store.stream import StreamEvent


@dataclass(frozen=True, slots=True)
class ActingGuard:
    """The caller (as ``acts_for`` reads it: its sub, role and constraints) and the guard
    that decides after this one (``then``). Subclasses implement ``admits``
    (``relay.events.EventGuard``); guards are compared by value, so streams of equal
    callers share one filter group."""

    sub: str
    role: str
    constraints: tuple[tuple[str, tuple[str, ...]], ...]
    agents: AgentDirectory
    then: EventGuard | None = None
    # What ``acts_for`` reads of the caller, built once; left out of equality.
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
        """The guard for ``caller``: ``then`` alone for root and unconstrained operators."""
        if is_unconstrained_operator(caller):
            return then
        constraints = tuple(sorted((k, tuple(v)) for k, v in caller.constraints.items()))
        return cls(caller.sub, caller.role, constraints, agents, then)

    def admits(self, event: StreamEvent) -> bool:
        raise NotImplementedError  # each guard's own rule

    def acts_for_stored(self, agent_id: str) -> bool:
        """Whether the caller acts for ``agent_id`` where memory holds it stored."""
        facts = self.agents.known([agent_id])[0].get(agent_id)
        return facts is not None and acts_for(self._caller, agent_id, facts.placement)
