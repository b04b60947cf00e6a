"""The trigram indexes only narrow: a search answers the same with and without them, on
SQLite (FTS5 trigram) and PostgreSQL (pg_trgm), and the index is really there to use."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import replace
from functools import partial

import pytest
from tortoise.connection import get_connection

from relay.domain.memory import Memory, MemoryQuery, Source, Viewer
from relay.store import memory as memory_store
from relay.store import memory_search, models
from relay.store.thread import StoreThread
from tests.conftest import open_store

NOW = 1_700_000_000_000
WORDS = ["Deploy", "deploy", "ci", "naïve", "ÉCOLE", "100%", "under_score", "kubernetes", "k8s"]
WORDS += ["rust", "RustAcean", "ab", "x", "quote'd", 'dq"x', "pipeline", "straße"]
QUERIES = [
    ("deploy",),
    ("ploy",),
    ("ci",),
    ("rust", "ace"),
    ("kubernetes", "deploy", "ci"),
    ("naïve",),
    ("école",),
    ("0%",),
    ("r_s",),
    ("quote'd",),
    ('dq"x',),
    ("nothing-here",),
    ("straße",),
    ("pipe", "x"),
]
VIEWERS = [Viewer(operator=True), Viewer(operator=False, agents=frozenset({"a1"}))]


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StoreThread]:
    async with open_store(database_url) as thread:
        yield thread


def random_memory(n: int, rng: random.Random) -> Memory:
    def words(k: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(k))

    return Memory(
        id=f"mem_{n:032x}",
        scope=rng.choice(["agent", "global", "repo"]),
        scope_key="a1",
        type="project",
        visibility=rng.choice(["shared", "private"]),
        sensitivity=rng.choice(["normal", "normal", "secret"]),
        confidence="medium",
        redaction_state="clean",
        title=words(rng.randint(1, 3)),
        body=words(rng.randint(1, 30)),
        tags=tuple(rng.sample(["ops", "Deploy", "ci", "k8s"], rng.randint(0, 2))),
        source=Source("manual", None),
        created_by=rng.choice(["a1", "a2"]),
        version=1,
        serve_count=0,
        last_served_at=None,
        created_at=NOW,
        updated_at=NOW + rng.randint(0, 50),
    )


async def answers(store: StoreThread) -> list[list[str]]:
    found = []
    for viewer in VIEWERS:
        for terms in QUERIES:
            query = MemoryQuery(terms=tuple(t.lower() for t in terms))
            rows = await store.run(
                partial(memory_store.search_candidates, query, viewer, None, 500)
            )
            found.append([row.id for row in rows])
    return found


async def test_search_answers_the_same_with_and_without_the_index(store: StoreThread) -> None:
    rng = random.Random(21)  # noqa: S311 - a fixed, reproducible store
    memories = [random_memory(n, rng) for n in range(300)]
    for m in memories:
        await store.write(partial(memory_store.insert_memory, m))
    # an update and a delete go through the index's triggers too
    await store.write(lambda: memory_store.update_memory(replace(memories[0], body="pipeline x")))
    await store.write(lambda: memory_store.delete_memory(memories[1].id))

    indexed = await answers(store)
    assert any(indexed)
    assert not all(indexed)
    await store.write(memory_search.drop_indexes)
    assert await answers(store) == indexed


async def test_the_index_serves_the_substring_match(store: StoreThread) -> None:
    rng = random.Random(7)  # noqa: S311 - a fixed, reproducible store
    for n in range(50):
        m = random_memory(n, rng)
        await store.write(partial(memory_store.insert_memory, m))
    dialect = await store.run(_dialect)
    if dialect == "sqlite":
        narrowed = await store.run(lambda: memory_search.narrowed_ids(["deploy"], "AND"))
        assert narrowed is not None
        assert len(narrowed) > 0
        assert await store.run(lambda: memory_search.narrowed_ids(["ci"], "AND")) is None
        assert await store.run(lambda: memory_search.narrowed_ids(["ci", "x"], "OR")) is None
    else:
        plan = await store.run(_postgres_plan)
        assert "memories_search_text_trgm" in plan


async def _dialect() -> str:
    return str(get_connection("default").capabilities.dialect)


async def _postgres_plan() -> str:
    # The query as tortoise writes it (CAST(... AS VARCHAR) LIKE): the GIN index serves it.
    conn = get_connection("default")
    sql = models.Memory.filter(search_text__contains="deploy").only("id").sql()
    async with conn._in_transaction() as tx:
        await tx.execute_script("SET LOCAL enable_seqscan = off")
        _count, rows = await tx.execute_query("EXPLAIN " + sql.replace("$1", "'%deploy%'"))
    return "\n".join(str(row[0]) for row in rows)


def test_match_expression() -> None:
    assert memory_search.match_expression(["deploy", "ci"], "AND") == '"deploy"'
    assert memory_search.match_expression(["deploy", "ci"], "OR") is None
    assert memory_search.match_expression(['a"bc', "xyz"], "OR") == '"a""bc" OR "xyz"'
    assert memory_search.match_expression(["ab"], "AND") is None
