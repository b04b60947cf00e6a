"""The store thread's failure paths: outages become ``Unavailable``, bugs and integrity errors
stay what they are, and a failed batch leaves nothing behind for the next one."""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio
from tortoise.connection import get_connection
from tortoise.exceptions import IntegrityError

from relay.crossing import wait_future
from relay.errors import Unavailable
from relay.store import models
from relay.store.thread import StoreThread
from tests.conftest import open_store, sqlite_only_database_url


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The faults below are SQLite's: they run in the suite's SQLite run only."""
    return sqlite_only_database_url(tmp_path)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StoreThread]:
    async with open_store(database_url) as thread:
        yield thread


def disk_full() -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode = sqlite3.SQLITE_FULL
    return error


async def fail_with_full_disk() -> None:
    raise disk_full()


async def count_runs() -> int:
    return await models.MaintenanceRun.all().count()


async def test_an_outage_in_a_read_is_unavailable(store: StoreThread) -> None:
    with pytest.raises(Unavailable, match="store unavailable") as caught:
        await store.run(fail_with_full_disk)
    assert caught.value.headers == {"Retry-After": "1"}


async def test_an_outage_in_a_write_is_unavailable(store: StoreThread) -> None:
    with pytest.raises(Unavailable, match="store unavailable"):
        await store.write(fail_with_full_disk)


async def test_an_outage_fails_the_whole_batch_without_replaying_it(store: StoreThread) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    async def hold() -> None:
        started.set()
        await asyncio.to_thread(release.wait)

    async def write(name: str) -> None:
        calls.append(name)
        await models.MaintenanceRun.create(name=name)
        if name == "b":
            raise disk_full()

    held = store.submit_write(hold)
    await trio.to_thread.run_sync(started.wait)
    # Queued while the writer is busy: the next batch holds all three.
    futures = [store.submit_write(functools.partial(write, name)) for name in "abc"]
    release.set()
    await wait_future(held, timeout=10, what="store")
    for future in futures:
        with pytest.raises(Unavailable):
            await wait_future(future, timeout=10, what="store")
    assert calls == ["a", "b"]  # not replayed one by one against a failing database
    assert await store.run(count_runs) == 0


async def test_integrity_errors_are_not_hidden_as_unavailable(store: StoreThread) -> None:
    async def duplicate() -> None:
        await models.MaintenanceRun.create(name="x")
        await models.MaintenanceRun.create(name="x")

    with pytest.raises(IntegrityError):
        await store.write(duplicate)


async def test_a_bug_in_a_job_is_not_hidden_as_unavailable(store: StoreThread) -> None:
    async def bug() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await store.run(bug)


async def test_an_outage_is_logged_once_and_its_end_too(
    store: StoreThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="relay.store")
    for _ in range(3):
        with pytest.raises(Unavailable):
            await store.run(fail_with_full_disk)
    assert await store.run(count_runs) == 0
    events = [r.getMessage().split()[0] for r in caplog.records if r.name == "relay.store"]
    assert events.count("store_unavailable") == 1
    assert events.count("store_recovered") == 1


async def test_a_commit_that_fails_leaves_no_transaction_open(store: StoreThread) -> None:
    # A deferred foreign key fails at COMMIT, and SQLite then keeps the transaction open,
    # as it may after a COMMIT that hits a full disk. The next batch must not commit it.
    async def schema() -> None:
        connection = get_connection("default")
        await connection.execute_script(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
            "CREATE TABLE child (parent INTEGER REFERENCES parent (id)"
            " DEFERRABLE INITIALLY DEFERRED)"
        )

    async def orphan() -> None:
        await get_connection("default").execute_query("INSERT INTO child VALUES (42)")

    async def children() -> int:
        _, rows = await get_connection("default").execute_query("SELECT count(*) FROM child")
        return int(rows[0][0])

    await store.run(schema)
    with pytest.raises(Exception, match="FOREIGN KEY constraint failed"):
        await store.write(orphan)
    await store.write(lambda: models.MaintenanceRun.create(name="next"))
    assert await store.run(count_runs) == 1
    assert await store.run(children) == 0
