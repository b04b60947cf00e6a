"""Which ``memory`` events a stream subscriber receives (spec/memory.md, "Events").

An event carries the memory without its body (and without the title of a ``secret`` one)
and enough of its shape for the visibility rules: a subscriber receives it only if
``visibility.sees`` lets it see that memory, live and on replay alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from relay.actors.memory import rules
from relay.actors.memory.redaction import Redactor
from relay.actors.memory.visibility import sees
from relay.domain.memory import Memory, Source, Viewer
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
    title, tags, source = item.get("title"), item.get("tags"), item.get("source")
    tags = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    ref = source.get("ref") if isinstance(source, dict) else None
    # Its kind is not redacted: only the ref is read (and written back below).
    stored = Source(kind="manual", ref=ref) if isinstance(ref, str) else None
    # The fields ``rules.for_output`` redacts on every other output, as it redacts them.
    new_title, _body, new_tags, new_source, found = rules.redact_fields(
        title if isinstance(title, str) else "", "", tuple(tags), stored, redactor
    )
    if not found:
        return event
    shown = {**item, "tags": list(new_tags)}
    if isinstance(title, str):  # a secret memory's event carries none
        shown["title"] = new_title
    if isinstance(source, dict) and new_source is not None:
        shown["source"] = {**source, "ref": new_source.ref}
    shown["redactionState"] = rules.output_state(item.get("redactionState"))
    return replace(event, data={**event.data, "memory": shown})
