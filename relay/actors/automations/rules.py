"""Automation rules as pure functions: which event triggers what, ``{{path}}`` templates,
the per-hour cap and the schedule (``now`` is always passed in)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from relay.domain.automations import CAP_WINDOW_MS, Automation

HOUR_MS = CAP_WINDOW_MS

_MISSING = object()
_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def lookup(root: Any, path: str) -> Any:
    """The value at dotted ``path`` (list items by index), or ``_MISSING``."""
    value = root
    for part in path.split(".") if path else ():
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and _index(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _index(part: str) -> int:
    """A list index in a path: ASCII digits (``isdigit`` also takes "¹", which ``int``
    refuses); anything else is no index (the path then finds nothing)."""
    return int(part) if part.isascii() and part.isdigit() else 1 << 62


def event_type_matches(pattern: str, event_type: str) -> bool:
    """Exact, or a prefix when the pattern ends in ``*`` (``github.*``, ``*`` for all)."""
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def triggered_by(trigger: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether an ``event`` trigger fires for an integration event (its JSON, with payload):
    its type, its integration if named, and every filter path equal."""
    if trigger.get("type") != "event":
        return False
    if not event_type_matches(str(trigger.get("eventType", "")), str(event.get("type", ""))):
        return False
    integration = trigger.get("integration")
    if integration is not None and integration != event.get("integration"):
        return False
    filters: Mapping[str, Any] = trigger.get("filter") or {}
    return all(lookup(event, path) == wanted for path, wanted in filters.items())


def triggered(automations: Iterable[Automation], event: Mapping[str, Any]) -> list[Automation]:
    """The enabled automations ``event`` triggers, by name (the order they dispatch in)."""
    hit = [a for a in automations if a.enabled and triggered_by(a.trigger, event)]
    return sorted(hit, key=lambda a: a.name)


def _text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render(template: Any, context: Mapping[str, Any]) -> Any:
    """``template`` with each ``{{path}}`` in its strings (keys aside) replaced by the value
    at ``path`` in ``context``: strings raw, anything else compact JSON, missing empty."""
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: _text(lookup(context, m.group(1))), template)
    if isinstance(template, list):
        return [render(item, context) for item in template]
    if isinstance(template, Mapping):
        return {key: render(value, context) for key, value in template.items()}
    return template


def within_hour(run_times: Iterable[int], now: int) -> list[int]:
    """The runs the cap still counts: those of the last 60 minutes."""
    return [at for at in run_times if at > now - HOUR_MS]


def may_run(run_times: Iterable[int], max_per_hour: int, now: int) -> bool:
    """Below ``maxPerHour`` runs in the last 60 minutes (skipped ones are not runs)."""
    return len(within_hour(run_times, now)) < max_per_hour


def first_run_at(trigger: Mapping[str, Any], now: int) -> int | None:
    """A schedule first runs ``everySeconds`` after it is saved; an event trigger never."""
    if trigger.get("type") != "schedule":
        return None
    return now + int(trigger["everySeconds"]) * 1000


def is_due(automation: Automation, now: int) -> bool:
    return (
        automation.enabled
        and automation.next_run_at is not None
        and automation.every_ms is not None
        and automation.next_run_at <= now
    )


def next_run_after(automation: Automation, now: int) -> int:
    """The run after one at ``now``: missed periods are not caught up."""
    every = automation.every_ms
    if every is None:
        raise ValueError(f"automation {automation.id} has no schedule")
    return now + every
