"""Task rows in and out of the store."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import SimpleNamespace
from typing import Any, cast

from relay.domain.agents import AgentCard, Placement
from relay.domain.tasks import (
    FINAL_STATUSES,
    Presence,
    RoutingHints,
    Task,
    TaskFilter,
    TaskStatus,
)
from relay.store import agents as agent_store
from relay.store import models
from relay.store.statements import InsertRow, SelectByKeys, UpdateByKey, numbered


def _task(row: models.Task | SimpleNamespace) -> Task:
    return Task(
        id=row.id,
        title=row.title,
        body=row.body,
        context_id=row.context_id,
        reference_task_ids=tuple(row.reference_task_ids or ()),
        depends_on=tuple(row.depends_on or ()),
        routing_hints=RoutingHints.from_json(dict(row.routing_hints or {})),
        created_by=row.created_by,
        created_by_agent=row.created_by_agent,
        assignee=row.assignee,
        status=cast(TaskStatus, row.status),
        status_message=row.status_message,
        result=row.result,
        artifacts=tuple(dict(a) for a in row.artifacts or ()),
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        lease_expires_at=row.lease_expires_at,
        lease_ms=int(row.lease_ms),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _columns(task: Task) -> dict[str, Any]:
    return {
        "title": task.title,
        "body": task.body,
        "context_id": task.context_id,
        "reference_task_ids": list(task.reference_task_ids),
        "depends_on": list(task.depends_on),
        "routing_hints": task.routing_hints.to_json(),
        "preferred_agent_id": task.routing_hints.preferred_agent_id,
        "created_by": task.created_by,
        "created_by_agent": task.created_by_agent,
        "assignee": task.assignee,
        "status": task.status,
        "status_message": task.status_message,
        "result": task.result,
        "artifacts": [dict(a) for a in task.artifacts],
        "attempt": task.attempt,
        "max_attempts": task.max_attempts,
        "lease_expires_at": task.lease_expires_at,
        "lease_ms": task.lease_ms,
        "version": task.version,
        "created_at": task.created_at,
        "updated_at": task.updated_at,
    }


_COLUMNS = tuple(name for name in models.Task._meta.fields_db_projection if name != "id")
_INSERT = InsertRow(models.Task)
_UPDATE = UpdateByKey(models.Task, _COLUMNS)
_ROW = SelectByKeys(models.Task, ("id", *_COLUMNS))


async def insert(task: Task) -> None:
    await _INSERT.run({"id": task.id, **_columns(task)})


async def update(tasks: Sequence[Task]) -> None:
    for task in tasks:
        await _UPDATE.run(task.id, _columns(task))


async def load(task_id: str) -> Task | None:
    rows = await _ROW.run((task_id,))
    return _task(rows[0]) if rows else None


async def open_tasks() -> list[Task]:
    """Every task not final, oldest first: the board's memory."""
    rows = await models.Task.exclude(status__in=list(FINAL_STATUSES)).order_by("created_at", "id")
    return [_task(row) for row in rows]


async def completed_ids() -> set[str]:
    """Ids of completed tasks: what ``ready`` is judged on for a task's ``dependsOn``."""
    ids = await models.Task.filter(status="completed").values_list("id", flat=True)
    return {str(i) for i in ids}


async def existing_ids(task_ids: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(task_ids))
    if not wanted:
        return set()
    ids = await models.Task.filter(id__in=wanted).values_list("id", flat=True)
    return {str(i) for i in ids}


async def statuses_of(task_ids: Iterable[str]) -> dict[str, str]:
    wanted = list(dict.fromkeys(task_ids))
    if not wanted:
        return {}
    rows = await models.Task.filter(id__in=wanted).values_list("id", "status")
    return {str(i): str(s) for i, s in rows}


# The submitted tasks that prefer an agent, read from their own partial index (migration
# 0016) rather than by walking every submitted task. The status is a literal so that the
# index's condition is seen to hold; SQLite's planner, without statistics, still prefers
# the (status, created_at) index, so it is told which one to use. Every preferred agent is
# listed, online or not: the board must know which ones were judged (``Presence``).
_PREFERRED = (
    'SELECT DISTINCT "preferred_agent_id" AS "agent_id" FROM "tasks"{hint} '
    'WHERE "status" = \'submitted\' AND "preferred_agent_id" IS NOT NULL'
)
_PRESENCE = (
    'SELECT p."agent_id", a."id" FROM ({preferred}) AS p '
    'LEFT JOIN "agents" AS a ON a."id" = p."agent_id" AND a."status" = ?'
)
PRESENCE_SQL = {
    "sqlite": _PRESENCE.format(preferred=_PREFERRED.format(hint=" INDEXED BY tasks_preferring")),
    "postgres": numbered(_PRESENCE.format(preferred=_PREFERRED.format(hint=""))),
}


async def preferred_presence() -> Presence:
    """The agents some submitted task prefers, and which of them are online (eligibility's
    last clause)."""
    db = models.Task._meta.db
    _, rows = await db.execute_query(PRESENCE_SQL[db.capabilities.dialect], ["online"])
    judged = frozenset(str(row[0]) for row in rows)
    return Presence(judged, frozenset(str(row[0]) for row in rows if row[1] is not None))


async def with_assignee_placement(task_id: str) -> tuple[Task | None, dict[str, Placement]]:
    """The stored task and, if it has an assignee that exists, where that agent is stored
    (``agents.placements_of``), in one store call."""
    task = await load(task_id)
    if task is None or task.assignee is None:
        return task, {}
    return task, await agent_store.placements_of((task.assignee,))


async def claimer_and_presence(agent_id: str) -> tuple[AgentCard | None, Presence]:
    """What a claim is judged on, in one store call: the claimer's stored card and
    ``preferred_presence``."""
    return await agent_store.load(agent_id), await preferred_presence()


async def list_tasks(query: TaskFilter) -> list[Task]:
    """Newest first, filtered (``ready`` is left to the caller, who judges dependencies)."""
    rows = models.Task.all()
    if query.status is not None:
        rows = rows.filter(status=query.status)
    if query.assignee is not None:
        rows = rows.filter(assignee=query.assignee)
    if query.context_id is not None:
        rows = rows.filter(context_id=query.context_id)
    if query.created_by is not None:
        rows = rows.filter(created_by=query.created_by)
    rows = rows.order_by("-created_at", "-id")
    if query.ready is None:
        rows = rows.limit(query.limit)
    return [_task(row) for row in await rows]
