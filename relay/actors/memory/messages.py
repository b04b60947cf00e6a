"""The messages MemoryActor understands; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.runtime.bridge import Ask
from relay.domain.memory import Memory, MemoryInput, MemoryPatch, Redaction, Viewer

KIND = "memory"


@dataclass(frozen=True, slots=True)
class Written:
    """A write's outcome: the memory as stored and what redaction replaced in it."""

    memory: Memory
    redactions: tuple[Redaction, ...]


@dataclass(frozen=True, slots=True)
class Create(Ask[Written]):
    """Store a new memory under this actor's id (redacted). Replies ``Written``.
    Raises Conflict ``memory already exists`` (an id is never reused)."""

    input: MemoryInput
    created_by: str
    created_by_agent: bool = True


@dataclass(frozen=True, slots=True)
class Update(Ask[Written]):
    """Apply the patch if ``viewer`` may change the current version (judged on it, so a
    concurrent change of scope or creator cannot slip past) and ``if_match`` (None: ``*``)
    is that version; version +1. Replies ``Written``. Raises NotFound ``memory not
    found``, Forbidden ``forbidden``, Conflict ``version conflict: current version is
    <n>``."""

    patch: MemoryPatch
    if_match: int | None
    viewer: Viewer


@dataclass(frozen=True, slots=True)
class Delete(Ask[Memory]):
    """Delete the memory if ``viewer`` may change it and ``if_match`` (None: any) is the
    current version. Replies the memory as it was. Raises NotFound, Forbidden, Conflict
    as ``Update``."""

    viewer: Viewer
    if_match: int | None = None


@dataclass(frozen=True, slots=True)
class Rescan(Ask[Written | None]):
    """Rewrite the stored text through the current redaction list if it would change
    (version +1, audited). Replies ``Written``, or None when nothing changed or the memory
    is gone."""
