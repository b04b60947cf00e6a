"""Stopping the store thread: queued work settles, late work is refused, no task outlives it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import trio

from relay.errors import Unavailable
from relay.store import models
from relay.store.thread import StoreThread
from tests.conftest import open_store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StoreThread]:
    async with open_store(database_url, shutdown_grace=0.2) as thread:
        yield thread


def leftover_tasks(store: StoreThread) -> set[asyncio.Task[object]]:
    loop = store._loop
    assert loop is not None
    assert loop.is_closed()
    return asyncio.all_tasks(loop)


async def test_a_read_in_flight_when_stop_begins_finishes(store: StoreThread) -> None:
    closing_seen = threading.Event()
    release = asyncio.Event()

    async def read() -> int:
        # The writer ends only once stop() has begun and drained the queued writes.
        assert store._writer is not None
        await asyncio.shield(store._writer)
        closing_seen.set()
        await release.wait()
        return await models.MaintenanceRun.all().count()

    pending = store.submit(read)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(trio.to_thread.run_sync, store.stop)
        await trio.to_thread.run_sync(closing_seen.wait)
        # Refused from now on, from any thread, while the read in flight still runs.
        with pytest.raises(Unavailable):
            await store.run(lambda: models.MaintenanceRun.all().count())
        with pytest.raises(Unavailable):
            await store.write(lambda: models.MaintenanceRun.create(name="late"))
        assert store._loop is not None
        store._loop.call_soon_threadsafe(release.set)

    assert pending.result(timeout=0) == 0
    assert leftover_tasks(store) == set()


async def test_a_read_still_running_after_the_grace_is_cancelled_and_unavailable(
    store: StoreThread,
) -> None:
    async def stuck() -> None:
        await asyncio.Event().wait()

    pending = store.submit(stuck)
    await trio.to_thread.run_sync(store.stop)

    with pytest.raises(Unavailable, match="shutting down"):
        pending.result(timeout=0)
    assert leftover_tasks(store) == set()


async def test_writes_queued_before_stop_are_committed(database_url: str) -> None:
    store = StoreThread(database_url)
    await trio.to_thread.run_sync(store.start)

    def create(name: str) -> Callable[[], Awaitable[models.MaintenanceRun]]:
        return lambda: models.MaintenanceRun.create(name=name)

    futures: list[concurrent.futures.Future[models.MaintenanceRun]] = [
        store.submit_write(create(f"job{i}")) for i in range(20)
    ]
    await trio.to_thread.run_sync(store.stop)
    assert all(future.result(timeout=0).name for future in futures)

    again = StoreThread(database_url)
    await trio.to_thread.run_sync(again.start)
    try:
        assert await again.run(lambda: models.MaintenanceRun.all().count()) == 20
    finally:
        await trio.to_thread.run_sync(again.stop)


async def test_a_stopped_store_refuses_jobs(store: StoreThread) -> None:
    await trio.to_thread.run_sync(store.stop)
    assert store.closing
    with pytest.raises(Unavailable, match="not running"):
        store.submit(lambda: models.MaintenanceRun.all().count())
    with pytest.raises(Unavailable, match="not running"):
        store.submit_write(lambda: models.MaintenanceRun.create(name="late"))


@pytest.mark.parametrize("where", ["missing/dir/x.db", "."])
async def test_a_database_that_cannot_be_opened_fails_start_at_once(
    tmp_path: Path, where: str
) -> None:
    # tortoise 1.1.9 kept its connection lock when the connect failed: start() hung forever.
    store = StoreThread(f"sqlite://{tmp_path / where}")
    with trio.fail_after(10), pytest.raises(sqlite3.OperationalError, match="unable to open"):
        await trio.to_thread.run_sync(store.start, abandon_on_cancel=True)
