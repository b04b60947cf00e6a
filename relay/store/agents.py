"""Agent rows and timeline entries in and out of the store, as plain dataclasses."""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any, Literal, cast

from tortoise.connection import connections

from relay.domain.agents import (
    AgentCard,
    Placement,
    Presence,
    TimelineEntry,
    TimelineInput,
    placement_of,
)
from relay.store import models
from relay.store.statements import SelectByKeys, UpdateByKey


def _card(row: models.Agent | SimpleNamespace) -> AgentCard:
    return AgentCard(
        id=row.id,
        name=row.name,
        kind=row.kind,
        status=cast(Presence, row.status),
        ready=row.ready,
        tags=tuple(row.tags or ()),
        orchestrator_id=row.orchestrator_id,
        provider_capabilities=row.provider_capabilities,
        meta=dict(row.meta or {}),
        registered_at=row.registered_at,
        last_seen_at=row.last_seen_at,
    )


def _columns(card: AgentCard) -> dict[str, Any]:
    return {
        "name": card.name,
        "kind": card.kind,
        "status": card.status,
        "ready": card.ready,
        "tags": list(card.tags),
        "orchestrator_id": card.orchestrator_id,
        "provider_capabilities": card.provider_capabilities,
        "meta": card.meta,
        "registered_at": card.registered_at,
        "last_seen_at": card.last_seen_at,
    }


_CARD = SelectByKeys(models.Agent, tuple(models.Agent._meta.fields_db_projection))
_ORCHESTRATOR = SelectByKeys(models.Agent, ("id", "orchestrator_id"))
_PLACEMENT = SelectByKeys(models.Agent, ("id", "orchestrator_id", "meta"))


async def load(agent_id: str) -> AgentCard | None:
    rows = await _CARD.run((agent_id,))
    return _card(rows[0]) if rows else None


async def orchestrators_of(agent_ids: tuple[str, ...]) -> dict[str, str | None]:
    """The stored orchestrator id of each of these agents that exists."""
    return {str(row.id): row.orchestrator_id for row in await _ORCHESTRATOR.run(agent_ids)}


async def placements_of(agent_ids: tuple[str, ...]) -> dict[str, Placement]:
    """Where each of these agents that exists is stored, its orchestrator and working
    directory (every authorization of an agent-scoped request asks it: ``acts_for``)."""
    return {
        str(row.id): placement_of(
            row.orchestrator_id, row.meta if isinstance(row.meta, dict) else {}
        )
        for row in await _PLACEMENT.run(agent_ids)
    }


async def cards_of(agent_ids: tuple[str, ...]) -> dict[str, AgentCard]:
    """The stored card of each of these agents that exists."""
    return {row.id: _card(row) for row in await models.Agent.filter(id__in=agent_ids)}


async def online_among(agent_ids: tuple[str, ...]) -> frozenset[str]:
    """Those of ``agent_ids`` that are online."""
    rows = models.Agent.filter(id__in=list(agent_ids), status="online")
    return frozenset(str(i) for i in await rows.values_list("id", flat=True))


async def insert(card: AgentCard) -> None:
    await models.Agent.create(id=card.id, **_columns(card))
    await models.AgentTombstone.filter(id=card.id).delete()


async def update(card: AgentCard) -> None:
    await models.Agent.filter(id=card.id).update(**_columns(card))


_TOUCH = UpdateByKey(models.Agent, ("status", "last_seen_at"))


async def touch(agent_id: str, status: str, last_seen_at: int) -> None:
    """The heartbeat's write: two columns, no read."""
    await _TOUCH.run(agent_id, {"status": status, "last_seen_at": last_seen_at})


async def delete(agent_id: str, orchestrator_id: str | None, now: int) -> None:
    """Remove the card and its timeline; leave a tombstone naming its orchestrator."""
    await models.TimelineEntry.filter(agent_id=agent_id).delete()
    await models.Agent.filter(id=agent_id).delete()
    await models.AgentTombstone.update_or_create(
        defaults={"orchestrator_id": orchestrator_id, "deleted_at": now}, id=agent_id
    )


async def tombstone(agent_id: str) -> tuple[bool, str | None]:
    """``(deleted, orchestrator)``: whether an agent of this id was deleted (and not
    created again since), and the orchestrator it was stored under then."""
    row = await models.AgentTombstone.get_or_none(id=agent_id)
    return (False, None) if row is None else (True, row.orchestrator_id)


async def list_cards(
    *, status: str | None = None, orchestrator_id: str | None = None, tag: str | None = None
) -> list[AgentCard]:
    query = models.Agent.all().order_by("id")
    if status:
        query = query.filter(status=status)
    if orchestrator_id:
        query = query.filter(orchestrator_id=orchestrator_id)
    cards = [_card(row) for row in await query]
    if tag:
        # Tags are a JSON array; a portable containment filter costs more than this scan.
        cards = [card for card in cards if tag in card.tags]
    return cards


# A text that JSON-encodes to itself (``%`` and ``_`` are escaped for LIKE): its
# quoted form is then the same substring in SQLite's JSON text and PostgreSQL's jsonb::text.
_NARROWABLE = re.compile(r"[A-Za-z0-9 ._:@/+#=,;~!$%&*()\[\]{}|^?<>'-]{1,200}")

JsonColumn = Literal["tags", "meta"]


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"{escaped}"%'


async def cards_matching(
    agent_ids: Iterable[str], mentions: Iterable[tuple[JsonColumn, str]]
) -> list[AgentCard] | None:
    """The cards of ``agent_ids`` and of every agent whose ``tags`` or ``meta`` JSON holds
    one of ``mentions`` as a string (a superset of those a binding on it matches: the
    caller applies the exact rule), ordered by id; not every card of the relay.

    None when a mention cannot be narrowed in SQL (a text JSON would escape): the caller
    then scans every card.
    """
    wanted = set(agent_ids)
    pairs = list(dict.fromkeys(mentions))
    if any(not _NARROWABLE.fullmatch(text) for _column, text in pairs):
        return None
    if pairs:
        conn = connections.get("default")
        postgres = conn.capabilities.dialect == "postgres"
        clauses = [
            f"CAST({column} AS TEXT) LIKE {f'${n}' if postgres else '?'} ESCAPE '\\'"
            for n, (column, _text) in enumerate(pairs, start=1)
        ]
        sql = f"SELECT id FROM agents WHERE {' OR '.join(clauses)}"  # noqa: S608 - fixed columns
        _count, rows = await conn.execute_query(sql, [_like(text) for _column, text in pairs])
        wanted.update(str(row[0]) for row in rows)
    if not wanted:
        return []
    return [_card(row) for row in await models.Agent.filter(id__in=wanted).order_by("id")]


async def due_for_reaping(stale_before_ms: int, offline_before_ms: int) -> list[str]:
    """Ids of online agents silent since ``stale_before_ms`` and stale ones since ``offline_…``."""
    online = models.Agent.filter(status="online", last_seen_at__lte=stale_before_ms)
    stale = models.Agent.filter(status="stale", last_seen_at__lte=offline_before_ms)
    ids = await online.values_list("id", flat=True)
    ids += await stale.values_list("id", flat=True)
    return [str(agent_id) for agent_id in ids]


async def append_timeline(agent_id: str, entry: TimelineInput, created_at: int) -> TimelineEntry:
    row = await models.TimelineEntry.create(
        agent_id=agent_id,
        kind=entry.kind,
        title=entry.title,
        body=entry.body,
        metadata=entry.metadata,
        created_at=created_at,
    )
    return _entry(row)


async def timeline(agent_id: str, limit: int) -> list[TimelineEntry]:
    rows = await models.TimelineEntry.filter(agent_id=agent_id).order_by("-id").limit(limit)
    return [_entry(row) for row in rows]


def _entry(row: models.TimelineEntry) -> TimelineEntry:
    return TimelineEntry(
        id=row.id,
        agent_id=row.agent_id,
        kind=row.kind,
        title=row.title,
        body=row.body,
        metadata=dict(row.metadata or {}),
        created_at=row.created_at,
    )


async def placements() -> list[tuple[str, str | None, dict[str, Any]]]:
    """Every stored agent as ``(id, orchestrator_id, meta)``: what start-up remembers of
    each, without building its card."""
    rows = await models.Agent.all().values_list("id", "orchestrator_id", "meta")
    return [
        (str(agent_id), orchestrator_id, meta if isinstance(meta, dict) else {})
        for agent_id, orchestrator_id, meta in rows
    ]


async def all_placements() -> dict[str, Placement]:
    """Where every stored agent is: for a caller limited by path alone, which acts for the
    agents whose stored cwd its paths cover, wherever they are registered."""
    return {
        agent_id: placement_of(orchestrator_id, meta)
        for agent_id, orchestrator_id, meta in await placements()
    }


async def ids_of_orchestrators(orchestrator_ids: tuple[str, ...]) -> list[str]:
    """The ids of the agents registered under any of these orchestrators."""
    if not orchestrator_ids:
        return []
    rows = await models.Agent.filter(orchestrator_id__in=list(orchestrator_ids)).values_list(
        "id", flat=True
    )
    return sorted(str(row) for row in rows)
