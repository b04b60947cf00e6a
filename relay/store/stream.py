"""The live event stream's log: append, replay after an id, prune by age.

A row's id is the SSE event id. Ids only grow: the table is ``AUTOINCREMENT`` on
SQLite and a sequence on PostgreSQL, so pruning old rows never lets an id come back,
and one process's group-commit writer appends in publish order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q

from relay.store import models
from relay.store.statements import InsertRow


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event of the stream, as stored: ``id`` is its SSE id."""

    id: int
    event: str
    data: dict[str, Any]
    view: str | None
    agent_id: str | None
    created_at: int


def _event(row: models.StreamEvent) -> StreamEvent:
    return StreamEvent(
        id=row.id,
        event=row.event,
        data=row.data,
        view=row.view,
        agent_id=row.agent_id,
        created_at=row.created_at,
    )


_INSERT = InsertRow(models.StreamEvent)


async def append(
    event: str, data: dict[str, Any], view: str | None, agent_id: str | None, created_at: int
) -> StreamEvent:
    """Store one event (run it through the group-commit writer, so it keeps publish order)."""
    values: dict[str, Any] = {
        "event": event,
        "data": data,
        "view": view,
        "agent_id": agent_id,
        "created_at": created_at,
    }
    event_id = await _INSERT.run(values)
    return StreamEvent(id=int(event_id), **values)


async def after(
    after_id: int,
    *,
    view: str | None = None,
    agent_id: str | None = None,
    agents: Collection[str] | None = None,
    hidden_views: Collection[str] = (),
    guarded_events: Collection[str] = (),
    hidden_events: Collection[str] = (),
    limit: int = 500,
) -> list[StreamEvent]:
    """The events with an id above ``after_id``, oldest first, at most ``limit``.

    ``view`` / ``agent_id`` keep only events with exactly that view / agent; ``agents``
    (a token's agent constraint) keeps only events of one of those agents, and those of
    the kinds in ``guarded_events`` (a guard judges them); events of ``hidden_views``, and
    those of the kinds in ``hidden_events``, are left out.
    """
    query = models.StreamEvent.filter(id__gt=after_id)
    if view is not None:
        query = query.filter(view=view)
    if agent_id is not None:
        query = query.filter(agent_id=agent_id)
    if agents is not None:
        if guarded_events:
            query = query.filter(Q(agent_id__in=list(agents)) | Q(event__in=list(guarded_events)))
        else:
            query = query.filter(agent_id__in=list(agents))
    if hidden_views:
        query = query.filter(Q(view__isnull=True) | ~Q(view__in=list(hidden_views)))
    if hidden_events:
        query = query.exclude(event__in=list(hidden_events))
    return [_event(row) for row in await query.order_by("id").limit(limit)]


async def last_id() -> int:
    """The newest event's id, 0 when the log is empty."""
    row = await models.StreamEvent.all().order_by("-id").first()
    return row.id if row is not None else 0


async def prune_stream(before_ms: int) -> int:
    """Delete the events created before ``before_ms`` (epoch ms); returns how many.

    For the retention job. A client whose ``Last-Event-ID`` is older than the oldest
    kept event replays from the oldest kept one.
    """
    deleted: int = await models.StreamEvent.filter(created_at__lt=before_ms).delete()
    return deleted
