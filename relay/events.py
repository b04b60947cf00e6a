"""The live event stream's publishing side: what actors and handlers call.

``publish`` is thread-safe and fire-and-forget: the event is appended to the
stream log through the store's ordered writer (so it lands after the state
change that caused it) and then fanned out to live subscribers. The SSE
endpoint (relay.http.events) reads the log for ``Last-Event-ID`` replay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("relay.events")

EVENT_NAMES = (
    "activity",
    "agent",
    "orchestrator",
    "command",
    "workspace",
    "lease",
    "config-changed",
)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    id: int
    event: str
    data: dict[str, Any]
    view: str | None
    agent_id: str | None
    created_at: int


Listener = Callable[[StreamEvent], None]


class EventHub:
    """Publishes events; a stand-in until the stream log lands (issue 9) keeps listeners only."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def publish(
        self,
        event: str,
        data: dict[str, Any],
        *,
        view: str | None = None,
        agent_id: str | None = None,
    ) -> None:
        """Append ``event`` to the stream; never raises into the caller."""
        if event not in EVENT_NAMES:
            raise ValueError(f"unknown event {event!r}")
        log.debug("event_published event=%s", event)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)
