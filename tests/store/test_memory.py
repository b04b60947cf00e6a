"""The memory query module on a real store thread (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial

import pytest

from relay.domain.memory import Memory, MemoryQuery, Source, Viewer
from relay.store import memory as memory_store
from relay.store.thread import StoreThread
from tests.conftest import open_store

NOW = 1_700_000_000_000
OPERATOR = Viewer(operator=True)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StoreThread]:
    async with open_store(database_url) as thread:
        yield thread


def memory(n: int, **fields: object) -> Memory:
    base = Memory(
        id=f"mem_{n:032x}",
        scope="agent",
        scope_key="a1",
        type="project",
        visibility="shared",
        sensitivity="normal",
        confidence="medium",
        redaction_state="clean",
        title=f"title {n}",
        body=f"body {n}",
        tags=("t1",),
        source=Source("manual", "ref"),
        created_by="a1",
        version=1,
        serve_count=0,
        last_served_at=None,
        created_at=NOW,
        updated_at=NOW + n,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


async def test_insert_load_update_delete(store: StoreThread) -> None:
    m = memory(1)
    await store.write(lambda: memory_store.insert_memory(m))
    assert await store.run(lambda: memory_store.load_memory(m.id)) == m
    changed = replace(m, title="new", version=2, source=None)
    await store.write(lambda: memory_store.update_memory(changed))
    assert await store.run(lambda: memory_store.load_memory(m.id)) == changed
    await store.write(lambda: memory_store.mark_served([m.id], NOW + 5))
    served = await store.run(lambda: memory_store.load_memory(m.id))
    assert served is not None
    assert (served.serve_count, served.last_served_at, served.version) == (1, NOW + 5, 2)
    await store.write(lambda: memory_store.delete_memory(m.id))
    assert await store.run(lambda: memory_store.load_memory(m.id)) is None


async def test_candidates_order_cursor_and_literal_wildcards(store: StoreThread) -> None:
    rows = [
        memory(1, title="100% Sure"),
        memory(2, body="under_score"),
        memory(3, updated_at=NOW + 2),  # ties with 2: id breaks it
        memory(4, tags=("Alpha", "beta")),
    ]
    for m in rows:
        await store.write(partial(memory_store.insert_memory, m))

    async def ids(query: MemoryQuery, after: tuple[int, str] | None = None) -> list[str]:
        found = await store.run(lambda: memory_store.search_candidates(query, OPERATOR, after, 10))
        return [m.id for m in found]

    assert await ids(MemoryQuery()) == [rows[3].id, rows[1].id, rows[2].id, rows[0].id]
    assert await ids(MemoryQuery(), (NOW + 2, rows[1].id)) == [rows[2].id, rows[0].id]
    assert await ids(MemoryQuery(terms=("0%",))) == [rows[0].id]
    assert await ids(MemoryQuery(terms=("r_s",))) == [rows[1].id]
    assert await ids(MemoryQuery(terms=("SURE",))) == [rows[0].id]
    assert await ids(MemoryQuery(tags=("alpha",))) == [rows[3].id]
    assert await ids(MemoryQuery(tags=("alph",))) == []
