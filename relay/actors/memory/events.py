"""Which ``memory`` events a stream subscriber receives (spec/memory.md, "Events").

An event carries the memory without its body (and without the title of a ``secret`` one)
and enough of its shape for the visibility rules: a subscriber receives it only if
``visibility.sees`` lets it see that memory, live and on replay alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from relay.actors.memory.redaction import Redactor
from relay.actors.memory.visibility import sees
from relay.domain.memory import Memory, Viewer
from relay.store.stream import StreamEvent

EVENT = "memory"


def _shape(data: Any) -> Memory | None:
    """What the visibility rules read of the event's memory; None for an event without it
    (a withheld notice stored before events carried it)."""
    item = data.get("memory") if isinstance(data, dict) else None
    if not isinstance(item, dict):
        return None
    try:
        return Memory(
            id=str(item["id"]),
            scope=item["scope"],
            scope_key=str(item["scopeKey"]),
            type=item["type"],
            visibility=item["visibility"],
            sensitivity=item["sensitivity"],
            confidence=item["confidence"],
            redaction_state=item["redactionState"],
            title="",
            body="",
            tags=(),
            source=None,
            created_by=str(item["createdBy"]),
            created_by_agent=bool(item["createdByAgent"]),
            version=0,
            serve_count=0,
            last_served_at=None,
            created_at=0,
            updated_at=0,
        )
    except KeyError:
        return None


@dataclass(frozen=True, slots=True)
class MemoryEvents:
    """A stream's guard (``relay.events.EventGuard``): other events pass; a ``memory``
    event passes if ``viewer`` sees its memory (``viewer`` None: the caller reads none)."""

    viewer: Viewer | None

    def admits(self, event: StreamEvent) -> bool:
        if event.event != EVENT:
            return True
        if self.viewer is None:
            return False
        if self.viewer.operator:
            return True
        memory = _shape(event.data)
        return memory is not None and sees(self.viewer, memory)


def replayed(event: StreamEvent, redactor: Redactor) -> StreamEvent:
    """A stored ``memory`` event as the current list shows it (spec: on output, SSE
    included, the current list is applied again). A live event was built with the list of
    its time, which is the current one; a replayed one may predate a pattern added since.
    Other events, and memory events the list leaves alone, are returned as they are."""
    item = event.data.get("memory") if event.event == EVENT else None
    if not isinstance(item, dict):
        return event
    shown = dict(item)
    changed = False

    def clean(text: Any) -> Any:
        nonlocal changed
        if not isinstance(text, str):
            return text
        cleaned, matched = redactor.redact(text)
        changed = changed or bool(matched)
        return cleaned

    shown["title"] = clean(item.get("title"))
    tags = item.get("tags")
    if isinstance(tags, list):
        shown["tags"] = [clean(tag) for tag in tags]
    source = item.get("source")
    if isinstance(source, dict) and "ref" in source:
        shown["source"] = {**source, "ref": clean(source["ref"])}
    if not changed:
        return event
    if shown.get("redactionState") != "blocked":
        shown["redactionState"] = "redacted"
    return replace(event, data={**event.data, "memory": shown})
