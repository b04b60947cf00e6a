"""The broker's candidate page is ranked and counted from the ``memories_broker`` index
(migration 0015) without reading the table for every candidate: SQLite's planner reports
the covering index; PostgreSQL's chooses the index."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tortoise.connection import get_connection

from relay.store.memory_broker_sql import Ask, page_sql
from relay.store.statements import numbered
from relay.store.thread import StoreThread
from tests.conftest import open_store

ASK = Ask(
    agent_id="a1",
    repo_roots=("/srv/one", "/srv/two"),
    pinned_tags=("style", "ops"),
    terms=(),
    stamp="0" * 32,
    limit=128,
)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StoreThread]:
    async with open_store(database_url) as thread:
        yield thread


async def _plan() -> tuple[str, str]:
    conn = get_connection("default")
    dialect = str(conn.capabilities.dialect)
    sql, values = page_sql(dialect, ASK)
    if dialect == "sqlite":
        _count, rows = await conn.execute_query("EXPLAIN QUERY PLAN " + sql, values)
        return dialect, "\n".join(str(tuple(row)) for row in rows)
    async with conn._in_transaction() as tx:
        await tx.execute_script("SET LOCAL enable_seqscan = off")
        _count, rows = await tx.execute_query("EXPLAIN " + numbered(sql), values)
    return dialect, "\n".join(str(row[0]) for row in rows)


async def test_the_candidates_are_ranked_from_the_index(store: StoreThread) -> None:
    dialect, plan = await store.run(_plan)
    if dialect == "sqlite":
        assert "COVERING INDEX memories_broker" in plan
        assert "SCAN memories" not in plan
    else:
        assert "memories_broker" in plan
