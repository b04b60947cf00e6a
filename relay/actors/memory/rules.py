"""Pure rules of one memory: building it, patching it, versions, redaction on write and
on output, and the events and audits that describe a change."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Any

from relay.actors.memory.redaction import Redactor, extra_patterns
from relay.domain.activity import ActivityInput
from relay.domain.memory import (
    JSON,
    Memory,
    MemoryChange,
    MemoryInput,
    MemoryPatch,
    Redaction,
    RedactionState,
    Source,
)
from relay.errors import Conflict
from relay.settings import RedactPattern

NOT_FOUND = "memory not found"
MEMORY_VIEW = "memory"
SECURITY_VIEW = "security"
_MARKER = re.compile(r"\[REDACTED:[^\]\s]+\]")


@lru_cache(maxsize=8)
def _redactor(credentials: tuple[str, ...], extra: tuple[RedactPattern, ...]) -> Redactor:
    return Redactor(credentials=credentials, extra=extra_patterns(extra))


def redactor_for(credentials: tuple[str, ...], extra: list[RedactPattern]) -> Redactor:
    """The current list for these credentials and extra patterns (built once, cached)."""
    return _redactor(credentials, tuple(extra))


def version_conflict(current: int) -> Conflict:
    return Conflict(f"version conflict: current version is {current}")


def check_version(memory: Memory, if_match: int | None) -> None:
    """``If-Match``: None is ``*`` (any version); else it must be the current one."""
    if if_match is not None and if_match != memory.version:
        raise version_conflict(memory.version)


def redact_fields(
    title: str, body: str, tags: tuple[str, ...], source: Source | None, redactor: Redactor
) -> tuple[str, str, tuple[str, ...], Source | None, tuple[Redaction, ...]]:
    """Every written text through the list; ``(field, name, count)`` per field and name."""
    found: list[Redaction] = []

    def clean(field: str, text: str) -> str:
        text, matched = redactor.redact(text)
        found.extend(Redaction(field, name, count) for name, count in matched)
        return text

    title = clean("title", title)
    body = clean("body", body)
    tag_counts: dict[str, int] = {}
    clean_tags: list[str] = []
    for tag in tags:
        text, matched = redactor.redact(tag)
        clean_tags.append(text)
        for name, count in matched:
            tag_counts[name] = tag_counts.get(name, 0) + count
    found.extend(Redaction("tags", name, count) for name, count in tag_counts.items())
    if source is not None and source.ref is not None:
        source = replace(source, ref=clean("source.ref", source.ref))
    return title, body, tuple(clean_tags), source, tuple(found)


def _has_marker(memory: Memory) -> bool:
    texts = [memory.title, memory.body, *memory.tags]
    if memory.source is not None and memory.source.ref:
        texts.append(memory.source.ref)
    return any(_MARKER.search(text) for text in texts)


def _state(memory: Memory, redactions: tuple[Redaction, ...]) -> RedactionState:
    """``redacted`` when this write replaced something or the text still holds a marker
    of an earlier one; else ``clean``."""
    return "redacted" if redactions or _has_marker(memory) else "clean"


def created(
    data: MemoryInput,
    *,
    memory_id: str,
    created_by: str,
    now: int,
    redactor: Redactor,
    created_by_agent: bool = True,
) -> tuple[Memory, tuple[Redaction, ...]]:
    title, body, tags, source, redactions = redact_fields(
        data.title, data.body, data.tags, data.source, redactor
    )
    memory = Memory(
        id=memory_id,
        scope=data.scope,
        scope_key=data.scope_key,
        type=data.type,
        visibility=data.visibility,
        sensitivity=data.sensitivity,
        confidence=data.confidence,
        redaction_state="clean",
        title=title,
        body=body,
        tags=tags,
        source=source,
        created_by=created_by,
        created_by_agent=created_by_agent,
        version=1,
        serve_count=0,
        last_served_at=None,
        created_at=now,
        updated_at=now,
    )
    return replace(memory, redaction_state=_state(memory, redactions)), redactions


def patched(
    memory: Memory, patch: MemoryPatch, *, now: int, redactor: Redactor
) -> tuple[Memory, tuple[Redaction, ...]]:
    """The memory with the patch applied, redacted, version +1. A blocked memory stays
    blocked until an operator sets ``clean``; ``blocked`` quarantines it."""
    source = None if patch.clear_source else (patch.source or memory.source)
    title, body, tags, source, redactions = redact_fields(
        patch.title if patch.title is not None else memory.title,
        patch.body if patch.body is not None else memory.body,
        patch.tags if patch.tags is not None else memory.tags,
        source,
        redactor,
    )
    changed = replace(
        memory,
        type=patch.type or memory.type,
        visibility=patch.visibility or memory.visibility,
        sensitivity=patch.sensitivity or memory.sensitivity,
        confidence=patch.confidence or memory.confidence,
        title=title,
        body=body,
        tags=tags,
        source=source,
        version=memory.version + 1,
        updated_at=max(now, memory.updated_at),
    )
    wanted = patch.redaction_state
    if wanted == "blocked" or (wanted is None and memory.redaction_state == "blocked"):
        state: RedactionState = "blocked"
    else:
        state = _state(changed, redactions)
    return replace(changed, redaction_state=state), redactions


def rescanned(
    memory: Memory, *, now: int, redactor: Redactor
) -> tuple[Memory, tuple[Redaction, ...]] | None:
    """The stored text through the current list, if that changes it (version +1)."""
    title, body, tags, source, redactions = redact_fields(
        memory.title, memory.body, memory.tags, memory.source, redactor
    )
    if not redactions:
        return None
    changed = replace(
        memory,
        title=title,
        body=body,
        tags=tags,
        source=source,
        version=memory.version + 1,
        updated_at=max(now, memory.updated_at),
    )
    state: RedactionState = "blocked" if memory.redaction_state == "blocked" else "redacted"
    return replace(changed, redaction_state=state), redactions


def for_output(memory: Memory, redactor: Redactor) -> Memory:
    """The memory as it may leave the relay: the current list applied again, so text
    stored before a pattern was added leaves redacted (and says so)."""
    title, body, tags, source, redactions = redact_fields(
        memory.title, memory.body, memory.tags, memory.source, redactor
    )
    if not redactions:
        return memory
    state = output_state(memory.redaction_state)
    return replace(memory, title=title, body=body, tags=tags, source=source, redaction_state=state)


def output_state(stored: object) -> RedactionState:
    """The state of a memory whose output the current list redacted: ``blocked`` stays."""
    return "blocked" if stored == "blocked" else "redacted"


def event_data(change: MemoryChange, memory: Memory) -> JSON:
    """The SSE ``memory`` event: never the body, and no title for a ``secret`` memory.
    It keeps the memory's scope, visibility, state and creator (``createdByAgent`` too):
    each stream receives it only if the visibility rules let its caller see the memory
    (``relay.actors.memory.events``)."""
    readable = memory.sensitivity != "secret"
    data = memory.to_json(with_title=readable, with_body=False)
    data["withheld"] = not readable
    data["createdByAgent"] = memory.created_by_agent
    return {"change": change, "memory": data}


def event_agent(memory: Memory) -> str | None:
    """The agent an event is about: an agent-scope memory's agent."""
    return memory.scope_key if memory.scope == "agent" else None


def redacted_audit(memory: Memory, redactions: tuple[Redaction, ...]) -> ActivityInput:
    """ "Memory redacted": the id, the pattern names and counts, never the text."""
    names: dict[str, int] = {}
    for r in redactions:
        names[r.name] = names.get(r.name, 0) + r.count
    metadata: dict[str, Any] = {
        "id": memory.id,
        "names": sorted(names),
        "counts": names,
        "redactions": [r.to_json() for r in redactions],
    }
    return ActivityInput(
        kind="security",
        title="Memory redacted",
        meta=memory.id,
        icon="ti-eye-off",
        view=SECURITY_VIEW,
        agent_id=event_agent(memory),
        metadata=metadata,
    )
