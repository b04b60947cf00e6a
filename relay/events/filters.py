"""What a subscriber sees: its ``StreamFilter`` (and ``EventGuard``, a rule on content,
which may also redact what it admits: ``RedactingGuard``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from relay.event_frames import encode_frame
from relay.events.deliveries import Delivery
from relay.store.stream import StreamEvent

__all__ = [
    "ORCHESTRATOR_VIEW",
    "EventGuard",
    "PresenceGuard",
    "RedactingGuard",
    "StreamFilter",
    "admitted_by",
]

log = logging.getLogger("relay.events")

# The view orchestrator events are published with: presence of orchestrators follows it.
ORCHESTRATOR_VIEW = "orchestrators"


class EventGuard(Protocol):
    """A per-subscriber rule on an event's content (hashable: filters are dict keys)."""

    def admits(self, event: StreamEvent) -> bool: ...


@runtime_checkable
class PresenceGuard(Protocol):
    """A guard that also rules on presence: whether an ``agent`` or ``orchestrator`` of this
    id may be shown to the subscriber, as its ``agent`` / ``orchestrator`` events are."""

    def admits_presence(self, kind: str, key: str) -> bool: ...


@runtime_checkable
class RedactingGuard(Protocol):
    """A guard that also changes what an event it admits shows the subscriber (a part of
    its record the subscriber may not read, left out), live and on replay alike.

    ``redact`` returns the event itself when it leaves it as it is, so the frame encoded
    once for every subscriber is sent as it is; a changed event is encoded once per filter,
    and every subscriber of that filter is handed the same bytes. It depends on the guard
    alone (guards are compared by value): streams with equal guards share one redaction.
    """

    def redact(self, event: StreamEvent) -> StreamEvent: ...


Redact = Callable[[StreamEvent], StreamEvent]


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """Which events a subscriber sees; a ``None`` field does not filter.

    ``view``: only events published with exactly this view. ``agent_id``: only events
    of exactly this agent. ``agents``: a token's agent constraint, only events of one
    of these agents (events tied to no agent are withheld). ``hidden_views``: events
    of these views are withheld (security audits from callers without ``token:admin``);
    ``hidden_events``: events of these kinds, whatever their view (a command's, from
    callers without ``command:read``).
    ``guard``: what the subscriber may read of an event's content (a ``memory`` event
    only if the memory visibility rules let it see that memory), live and on replay; and,
    if it is a ``RedactingGuard``, what an admitted event shows (``redaction``).
    """

    view: str | None = None
    agent_id: str | None = None
    agents: frozenset[str] | None = None
    hidden_views: frozenset[str] = frozenset()
    guard: EventGuard | None = None
    # Event kinds ``agents`` does not filter: the guard judges them by the agents they name
    # (a pair event, by its parties: it is tied to no one agent). Kinds, not views: the
    # pairs view's activity rows are filtered like any other (the feed's way).
    guarded_events: frozenset[str] = frozenset()
    hidden_events: frozenset[str] = frozenset()
    # The guard's ``redact``, or None: found once as the stream opens, so a filter whose
    # guard redacts nothing (root's, an unconstrained caller's) pays nothing per event.
    redaction: Redact | None = field(
        init=False, default=None, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        if isinstance(self.guard, RedactingGuard):
            object.__setattr__(self, "redaction", self.guard.redact)

    def passes(self, event: StreamEvent) -> bool:
        if event.event in self.hidden_events:
            return False
        if not self.admits(event.view, event.agent_id, event.event):
            return False
        return self.guard is None or self.guard.admits(event)

    def shown(self, events: Iterable[StreamEvent]) -> list[StreamEvent]:
        """The events that pass, in order, as the subscriber is shown them (redacted)."""
        passed = [event for event in events if self.passes(event)]
        redact = self.redaction
        return passed if redact is None else [redact(event) for event in passed]

    def admits(self, view: str | None, agent_id: str | None, event: str | None = None) -> bool:
        """Whether an event (of kind ``event``) published with this view and agent passes."""
        if self.view is not None and view != self.view:
            return False
        if view is not None and view in self.hidden_views:
            return False
        if self.agent_id is not None and agent_id != self.agent_id:
            return False
        return self.agents is None or agent_id in self.agents or event in self.guarded_events

    def presence(
        self, agents: dict[str, int], orchestrators: dict[str, int]
    ) -> dict[str, dict[str, int]]:
        """The part of a presence window this filter admits, filtered like the ``agent``
        and ``orchestrator`` events it stands for."""
        seen: dict[str, int]
        if self.view is not None:
            seen = {}  # agent events carry no view
        elif self.agent_id is not None or self.agents is not None:
            wanted = {self.agent_id} if self.agent_id is not None else self.agents or ()
            seen = {a: agents[a] for a in wanted if a in agents and self.admits(None, a)}
        else:
            seen = agents  # shared, not copied: the window is not changed after it is sent
        shown = orchestrators if self.admits(ORCHESTRATOR_VIEW, None) else {}
        guard = self.guard
        if isinstance(guard, PresenceGuard):
            seen = {a: at for a, at in seen.items() if guard.admits_presence("agent", a)}
            shown = {o: at for o, at in shown.items() if guard.admits_presence("orchestrator", o)}
        return {"agents": seen, "orchestrators": shown}


def admitted_by(
    stream_filter: StreamFilter, deliveries: list[Delivery]
) -> tuple[list[Delivery], bool]:
    """The deliveries ``stream_filter`` passes, in order, as its subscribers are shown them
    (its ``redaction``), and whether it raised: then only those before the one it raised on
    (its clients get them, then are dropped)."""
    admitted: list[Delivery] = []
    redact = stream_filter.redaction  # None: a filter that redacts nothing pays nothing more
    for delivery in deliveries:
        try:
            passes = stream_filter.passes(delivery.event)
            if passes and redact is not None:
                delivery = _redacted(delivery, redact)
        except Exception:
            log.exception("sse_client_failed event_id=%d", delivery.event.id)
            return admitted, True
        if passes:
            admitted.append(delivery)
    return admitted, False


def _redacted(delivery: Delivery, redact: Redact) -> Delivery:
    """The delivery as ``redact`` shows it: the shared one when it changed nothing, else
    the changed event with its own frame (encoded once for the filter's group)."""
    shown = redact(delivery.event)
    return delivery if shown is delivery.event else Delivery(shown, encode_frame(shown))
