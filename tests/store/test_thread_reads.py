"""Reads behind the queued writes (``submit_after_writes``): they see every write queued
before them without waiting for a group commit of their own."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator

import pytest
import trio

from relay.store import models
from relay.store.thread import StoreThread
from tests.conftest import open_store

BOUND_S = 10.0


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StoreThread]:
    async with open_store(database_url, shutdown_grace=0.2) as thread:
        yield thread


def held_write(
    store: StoreThread, name: str, release: threading.Event, started: threading.Event
) -> concurrent.futures.Future[models.MaintenanceRun]:
    """A write that, once running in its transaction, waits until ``release`` is set."""

    async def job() -> models.MaintenanceRun:
        started.set()
        await asyncio.get_running_loop().run_in_executor(None, release.wait, BOUND_S)
        return await models.MaintenanceRun.create(name=name)

    return store.submit_write(job)


async def test_a_read_after_writes_sees_them_and_not_the_next_batch(store: StoreThread) -> None:
    first_release = threading.Event()
    second_release = threading.Event()
    first_started = threading.Event()
    first = held_write(store, "first", first_release, first_started)
    # The first write's batch is under way: what is queued from now on is the next batch.
    assert await trio.to_thread.run_sync(first_started.wait, BOUND_S)

    async def count() -> int:
        return await models.MaintenanceRun.filter(name__in=["first", "second"]).count()

    read = store.submit_after_writes(count)
    # Queued after the read, while the first write still runs: the next batch.
    second = held_write(store, "second", second_release, threading.Event())
    try:
        first_release.set()
        # The read answers once the first write is committed, while the second is still
        # held in its transaction: it did not join (and wait for) the next group commit.
        seen = await trio.to_thread.run_sync(read.result, BOUND_S)
        assert seen == 1
        assert not second.done()
    finally:
        first_release.set()
        second_release.set()
    await trio.to_thread.run_sync(second.result, BOUND_S)
    assert first.done()


async def test_a_read_after_writes_with_none_queued_runs_at_once(store: StoreThread) -> None:
    async def count() -> int:
        return await models.MaintenanceRun.all().count()

    assert await trio.to_thread.run_sync(store.submit_after_writes(count).result, BOUND_S) == 0
