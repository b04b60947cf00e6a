"""The SQLite engine runs statements on the store thread itself, with tortoise's own client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tortoise.backends.base import executor
from tortoise.connection import get_connection

from relay.store import models
from relay.store.sqlite_inline import InlineConnection, InlineSqliteClient, connect
from relay.store.thread import StoreThread


@pytest.fixture(autouse=True)
def _forget_sqlite_statements() -> Iterator[None]:
    # tortoise caches each model's INSERT per connection name, not per dialect: these
    # SQLite stores must not leave '?'-style statements behind for a PostgreSQL run of the
    # suite in the same process (relay itself only ever opens one database).
    yield
    executor.EXECUTOR_CACHE.clear()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StoreThread]:
    store = StoreThread(f"sqlite://{tmp_path / 'relay.sqlite3'}")
    store.start()
    yield store
    store.stop()


async def test_statements_run_on_the_store_thread(store: StoreThread) -> None:
    async def job() -> str:
        client = get_connection("default")
        assert isinstance(client, InlineSqliteClient)
        raw = client._connection._conn  # type: ignore[union-attr]
        raw.create_function("thread_name", 0, lambda: threading.current_thread().name)
        _count, rows = await client.execute_query("SELECT thread_name() AS name")
        return str(rows[0]["name"])

    assert await store.run(job) == "relay-store"


async def test_no_worker_thread_is_started(tmp_path: Path) -> None:
    before = {thread.name for thread in threading.enumerate()}
    store = StoreThread(f"sqlite://{tmp_path / 'relay.sqlite3'}")
    store.start()
    try:
        await store.write(lambda: models.MaintenanceRun.create(name="job"))
        started = {thread.name for thread in threading.enumerate()} - before
    finally:
        store.stop()
    assert started == {"relay-store", "relay-checkpoint"}


async def test_a_closed_connection_refuses_work(tmp_path: Path) -> None:
    connection = await connect(str(tmp_path / "db.sqlite3"), isolation_level=None)
    assert isinstance(connection, InlineConnection)
    await connection.execute("CREATE TABLE t (a INTEGER)")
    await connection.close()
    with pytest.raises(ValueError, match="connection"):
        await connection.execute("SELECT 1")
