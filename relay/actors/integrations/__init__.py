"""Integrations: events posted by outside systems, deduplicated by delivery id, and
dispatched to automations (``dispatch_event``, the one place they plug in)."""

from relay.actors.integrations.flows import (
    EventInput,
    Received,
    allow_posting,
    dispatch_event,
    integration_retention,
    receive,
    recent_events,
    summaries,
)
from relay.actors.integrations.install import install

__all__ = [
    "EventInput",
    "Received",
    "allow_posting",
    "dispatch_event",
    "install",
    "integration_retention",
    "receive",
    "recent_events",
    "summaries",
]
