"""Memories in and out of the store, and the coarse half of a search.

A search is decided in two halves: SQL narrows the rows (exact filters, the caller's
scopes, each term as a substring of the lower-cased ``search_text`` / ``search_tags``
copies), then the caller checks each row exactly in Python (visibility, the text as
redacted on output). The SQL half is a superset of the answer and the Python half is
the same code on every backend, so SQLite and PostgreSQL answer alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from tortoise.expressions import F, Q

from relay.domain.memory import (
    Confidence,
    Memory,
    MemoryQuery,
    MemoryType,
    RedactionState,
    Scope,
    Sensitivity,
    Source,
    SourceKind,
    Viewer,
    Visibility,
)
from relay.store import memory_search, models


def search_text(title: str, body: str, tags: Iterable[str]) -> str:
    """Title, body and tags, lower-cased and newline-joined: a search term has no
    whitespace, so it never matches across two of them."""
    return "\n".join([title, body, *tags]).lower()


def search_tags(tags: Iterable[str]) -> str:
    """The tags, lower-cased, each framed by newlines (``%\\ntag\\n%`` is one whole tag)."""
    return "\n" + "".join(f"{tag.lower()}\n" for tag in tags)


def _memory(row: models.Memory) -> Memory:
    source = row.source
    return Memory(
        id=row.id,
        scope=cast(Scope, row.scope),
        scope_key=row.scope_key,
        type=cast(MemoryType, row.type),
        visibility=cast(Visibility, row.visibility),
        sensitivity=cast(Sensitivity, row.sensitivity),
        confidence=cast(Confidence, row.confidence),
        redaction_state=cast(RedactionState, row.redaction_state),
        title=row.title,
        body=row.body,
        tags=tuple(row.tags or ()),
        source=(
            Source(kind=cast(SourceKind, source["kind"]), ref=source.get("ref"))
            if isinstance(source, dict)
            else None
        ),
        created_by=row.created_by,
        created_by_agent=bool(row.created_by_agent),
        version=row.version,
        serve_count=row.serve_count,
        last_served_at=row.last_served_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _columns(memory: Memory, stamp: str | None = None) -> dict[str, Any]:
    """The row; ``stamp``: the redaction list known to leave its text as stored, if any."""
    return {
        "scope": memory.scope,
        "scope_key": memory.scope_key,
        "type": memory.type,
        "visibility": memory.visibility,
        "sensitivity": memory.sensitivity,
        "confidence": memory.confidence,
        "redaction_state": memory.redaction_state,
        "title": memory.title,
        "body": memory.body,
        "tags": list(memory.tags),
        "source": memory.source.to_json() if memory.source else None,
        "created_by": memory.created_by,
        "created_by_agent": memory.created_by_agent,
        "version": memory.version,
        "serve_count": memory.serve_count,
        "last_served_at": memory.last_served_at,
        "created_at": memory.created_at,
        "updated_at": memory.updated_at,
        "search_text": search_text(memory.title, memory.body, memory.tags),
        "search_tags": search_tags(memory.tags),
        "redaction_stamp": stamp,
    }


async def load_memory(memory_id: str) -> Memory | None:
    row = await models.Memory.get_or_none(id=memory_id)
    return _memory(row) if row else None


async def memories_by_id(memory_ids: Iterable[str]) -> dict[str, Memory]:
    wanted = list(dict.fromkeys(memory_ids))
    if not wanted:
        return {}
    rows = await models.Memory.filter(id__in=wanted)
    return {row.id: _memory(row) for row in rows}


async def insert_memory(memory: Memory, stamp: str | None = None) -> None:
    await models.Memory.create(id=memory.id, **_columns(memory, stamp))


async def update_memory(memory: Memory, stamp: str | None = None) -> None:
    """Every column of the memory as given (its actor holds the current version), but the
    serving counters: the broker bumps those in the store (``mark_served``), and an actor's
    copy loaded before a serving must not write them back."""
    columns = _columns(memory, stamp)
    del columns["serve_count"], columns["last_served_at"]
    await models.Memory.filter(id=memory.id).update(**columns)


async def delete_memory(memory_id: str) -> None:
    await models.Memory.filter(id=memory_id).delete()


async def mark_served(memory_ids: Iterable[str], now: int) -> None:
    """``serveCount`` +1 and ``lastServedAt`` for each; the version does not move."""
    wanted = list(dict.fromkeys(memory_ids))
    if wanted:
        await models.Memory.filter(id__in=wanted).update(
            serve_count=F("serve_count") + 1, last_served_at=now
        )


async def serving_of(memory_id: str) -> tuple[int, int | None]:
    """``(serveCount, lastServedAt)`` as stored (0, None for a memory that is gone)."""
    row = await models.Memory.filter(id=memory_id).first().values("serve_count", "last_served_at")
    return (row["serve_count"], row["last_served_at"]) if row else (0, None)


async def stamp_unchanged(versions: Iterable[tuple[str, int]], stamp: str) -> None:
    """Stamp these (id, version)s: ``stamp``'s list leaves their text as stored. A row
    written since (another version) keeps what its writer stamped."""
    for memory_id, version in versions:
        await (
            models.Memory.filter(id=memory_id, version=version)
            .filter(Q(redaction_stamp__isnull=True) | ~Q(redaction_stamp=stamp))
            .update(redaction_stamp=stamp)
        )


async def memories_after(after_id: str, limit: int) -> list[Memory]:
    """A page of every memory in id order (the rescan job's walk)."""
    rows = await models.Memory.filter(id__gt=after_id).order_by("id").limit(limit)
    return [_memory(row) for row in rows]


def _created_by(viewer: Viewer) -> Q:
    """Rows the viewer created: by one of its agents, or by its own ``sub``."""
    mine = Q(created_by__in=list(viewer.agents), created_by_agent=True)
    if viewer.principal is not None:
        mine |= Q(created_by=viewer.principal, created_by_agent=False)
    return mine


def _viewer_filter(viewer: Viewer) -> Q | None:
    """The rows a non-operator may see, coarsely: the ``cwd`` constraint on repo
    scope is checked exactly afterwards."""
    if viewer.operator:
        return None
    agents = list(viewer.agents)
    scopes = Q(scope="global") | Q(scope="repo")
    mine = Q(visibility="shared") | _created_by(viewer)
    if agents:
        scopes |= Q(scope="agent", scope_key__in=agents)
    return ~Q(redaction_state="blocked") & scopes & mine


def _term_filter(term: str, viewer: Viewer) -> Q:
    """``term`` (lower-cased) in the title, body or a tag, but in a ``secret`` memory's
    title or body only for its creator and operators."""
    in_tags = Q(search_tags__contains=term)
    if viewer.operator:
        return Q(search_text__contains=term)
    readable = Q(sensitivity="normal") | _created_by(viewer)
    return (readable & Q(search_text__contains=term)) | in_tags


async def search_candidates(
    query: MemoryQuery, viewer: Viewer, after: tuple[int, str] | None, limit: int
) -> list[Memory]:
    """Up to ``limit`` rows past ``after`` in the search order (``updatedAt`` desc, then
    id) that may match: a superset of the answer the caller then checks exactly."""
    qs = models.Memory.all()
    # The trigram index (SQLite) narrows to rows that may hold every term; the LIKEs below
    # still decide, so the answer is the same with or without it.
    narrowed = await memory_search.narrowed_ids([t.lower() for t in query.terms], "AND")
    if narrowed is not None:
        if not narrowed:
            return []
        qs = qs.filter(id__in=narrowed)
    visible = _viewer_filter(viewer)
    if visible is not None:
        qs = qs.filter(visible)
    if query.scope is not None:
        qs = qs.filter(scope=query.scope)
    if query.scope_key is not None:
        qs = qs.filter(scope_key=query.scope_key)
    if query.type is not None:
        qs = qs.filter(type=query.type)
    if query.created_by is not None:
        qs = qs.filter(created_by=query.created_by)
    for tag in query.tags:
        qs = qs.filter(search_tags__contains=f"\n{tag.lower()}\n")
    for term in query.terms:
        qs = qs.filter(_term_filter(term.lower(), viewer))
    if after is not None:
        updated_at, last_id = after
        qs = qs.filter(Q(updated_at__lt=updated_at) | Q(updated_at=updated_at, id__gt=last_id))
    rows = await qs.order_by("-updated_at", "id").limit(limit)
    return [_memory(row) for row in rows]
