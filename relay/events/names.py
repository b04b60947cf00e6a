"""The names a stream event may have: ``publish`` refuses any other.

The dashboard's ``live.js`` and ``store.js`` list the same names.
"""

from __future__ import annotations

__all__ = ["EVENT_NAMES"]

EVENT_NAMES = (
    "activity",
    "agent",
    "orchestrator",
    "command",
    "workspace",
    "lease",
    "config-changed",
    "channel",
    "message",
    "delivery",
    "task",
    "pair",
    "integration",
    "automation",
    "memory",
)
