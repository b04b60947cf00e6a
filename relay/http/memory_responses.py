"""The JSON shapes of the memory routes, as ``/openapi.json`` documents them (see
``relay.http.responses``: documentation only, checked by the schemathesis run)."""

from __future__ import annotations

from typing import Literal

from relay.domain.memory import (
    Confidence,
    MemoryType,
    RedactionState,
    Scope,
    Sensitivity,
    SourceKind,
    Visibility,
)
from relay.http.responses import Ok, Shape


class MemorySource(Shape):
    kind: SourceKind
    ref: str | None = None


class Memory(Shape):
    """A memory; ``title`` and ``body`` are null with ``withheld: true`` for a secret one
    the caller may not read. ``ETag: "<version>"`` comes with it."""

    id: str
    scope: Scope
    scope_key: str
    type: MemoryType
    visibility: Visibility
    sensitivity: Sensitivity
    confidence: Confidence
    redaction_state: RedactionState
    title: str | None
    body: str | None
    tags: list[str]
    source: MemorySource | None = None
    created_by: str
    version: int
    serve_count: int
    last_served_at: int | None = None
    created_at: int
    updated_at: int
    withheld: bool


class MemoryRedaction(Shape):
    field: Literal["title", "body", "tags", "source.ref"]
    name: str
    count: int


class WrittenMemory(Memory):
    """A create or update: the memory as stored, and what redaction replaced in it (none
    of a title or body withheld from the caller)."""

    redactions: list[MemoryRedaction]


class MemoryPage(Shape):
    items: list[Memory]
    next_cursor: str | None = None


class DeletedMemory(Ok):
    id: str
