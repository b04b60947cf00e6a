"""Which preferred agents are online, as claim-next asks it on every claim: every agent a
submitted task prefers is judged (the board asks the store only about the others), the
online ones among them are told, read from the ``tasks_preferring`` partial index
(migration 0016) rather than by walking every submitted task."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from tortoise.connection import get_connection

from relay.domain.tasks import Presence, RoutingHints, Task, TaskStatus
from relay.store import models
from relay.store import tasks as task_store
from relay.store.thread import StoreThread
from tests.conftest import open_store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StoreThread]:
    async with open_store(database_url) as thread:
        yield thread


def _task(task_id: str, status: TaskStatus, preferred: str | None) -> Task:
    return Task(
        id=task_id,
        title=task_id,
        body="",
        context_id="ctx",
        created_by="root",
        status=status,
        attempt=0,
        max_attempts=3,
        version=1,
        created_at=1,
        updated_at=1,
        routing_hints=RoutingHints(preferred_agent_id=preferred),
        assignee="busy" if status == "working" else None,
    )


async def _agent(agent_id: str, status: str) -> None:
    await models.Agent.create(
        id=agent_id, name=agent_id, kind="claude", status=status, registered_at=1, last_seen_at=1
    )


async def _board() -> None:
    for agent_id, status in (("on", "online"), ("off", "offline"), ("busy", "online")):
        await _agent(agent_id, status)
    await _agent("idle", "online")  # online, but no task prefers it
    await task_store.insert(_task("t1", "submitted", "on"))
    await task_store.insert(_task("t2", "submitted", "off"))
    await task_store.insert(_task("t3", "working", "busy"))  # claimed: no longer waits
    await task_store.insert(_task("t4", "submitted", None))
    await task_store.insert(_task("t5", "submitted", "ghost"))  # no such agent


async def test_the_agents_submitted_tasks_prefer_and_which_are_online(store: StoreThread) -> None:
    await store.write(_board)
    presence = await store.run(task_store.preferred_presence)
    assert presence == Presence(judged=frozenset({"on", "off", "ghost"}), online=frozenset({"on"}))
    # Claimed by another: t1 leaves the submitted tasks, and "on" with it.
    claimed = replace(_task("t1", "submitted", "on"), status="working", assignee="busy")
    await store.write(lambda: task_store.update([claimed]))
    presence = await store.run(task_store.preferred_presence)
    assert presence == Presence(judged=frozenset({"off", "ghost"}), online=frozenset())


async def _plan() -> tuple[str, str]:
    conn = get_connection("default")
    dialect = str(conn.capabilities.dialect)
    sql = task_store.PRESENCE_SQL[dialect]
    if dialect == "sqlite":
        _count, rows = await conn.execute_query("EXPLAIN QUERY PLAN " + sql, ["online"])
        return dialect, "\n".join(str(tuple(row)) for row in rows)
    async with conn._in_transaction() as tx:
        await tx.execute_script("SET LOCAL enable_seqscan = off")
        _count, rows = await tx.execute_query("EXPLAIN " + sql, ["online"])
    return dialect, "\n".join(str(row[0]) for row in rows)


async def test_the_preferred_agents_are_read_from_their_index(store: StoreThread) -> None:
    await store.write(_board)
    dialect, plan = await store.run(_plan)
    assert "tasks_preferring" in plan
    if dialect == "sqlite":
        assert "SCAN tasks" not in plan
