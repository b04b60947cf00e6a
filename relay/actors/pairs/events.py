"""Which ``pair`` events a stream subscriber receives: those of pairs it would read over
HTTP (``flows.readable``: a party it acts for, its creator, or an unconstrained operator),
live and on replay alike.

Covering an agent is not acting for it: a provider token limited to o1 reads o1's agent
cards, not the pairs of o1's agents, and so none of their events.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.runtime.acting_guard import ActingGuard
from relay.auth.access import is_named
from relay.store.stream import StreamEvent

EVENT = "pair"


@dataclass(frozen=True, slots=True)
class PairEvents(ActingGuard):
    """A stream's guard (``relay.events.EventGuard``) for a caller that is no unconstrained
    operator (``of``): a ``pair`` event passes if the caller acts for its driver or its
    navigator, or is its creator (acting for it when it was an agent, as stored; being it
    otherwise). Other events pass; then ``then`` decides."""

    def admits(self, event: StreamEvent) -> bool:
        if event.event == EVENT and not self._reads(event.data):
            return False
        return self.then is None or self.then.admits(event)

    def _reads(self, data: object) -> bool:
        pair = data.get("pair") if isinstance(data, dict) else None
        if not isinstance(pair, dict):
            return False
        parties = [p for p in (pair.get("driver"), pair.get("navigator")) if isinstance(p, str)]
        if any(self.acts_for_stored(party) for party in parties):
            return True
        creator = pair.get("createdBy")
        if not isinstance(creator, str):
            return False
        assert isinstance(data, dict)
        was_agent = data.get("createdByAgent")
        if was_agent is None:  # stored before the kind was kept: decided now
            was_agent = creator in self.agents.known([creator])[0]
        return self.acts_for_stored(creator) if was_agent else is_named(self._caller, creator)
