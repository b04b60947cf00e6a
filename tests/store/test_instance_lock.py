"""The instance lock: one holder per store, the refused one told who holds it, loss noticed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from relay.store.instance_lock import (
    InstanceLock,
    InstanceLockHeld,
    InstanceLockLost,
    acquire_instance_lock,
    holder_name,
)
from relay.store.schema import sqlite_path
from tests.conftest import run_asyncio


@pytest.fixture
def held(database_url: str) -> Iterator[InstanceLock]:
    lock = acquire_instance_lock(database_url)
    yield lock
    lock.release()


def test_a_second_holder_is_refused_and_told_who_holds_it(
    database_url: str, held: InstanceLock
) -> None:
    with pytest.raises(InstanceLockHeld) as refused:
        acquire_instance_lock(database_url)
    message = str(refused.value)
    assert "another relay is using this database" in message
    assert f"pid={os.getpid()}" in message
    assert "\n" not in message
    held.check()  # the holder still holds it


def test_a_released_lock_can_be_taken_again(database_url: str) -> None:
    first = acquire_instance_lock(database_url)
    first.release()
    first.release()  # idempotent
    second = acquire_instance_lock(database_url)
    second.check()
    second.release()


def test_a_removed_lock_file_is_noticed(database_url: str, held: InstanceLock) -> None:
    path = sqlite_path(database_url)
    if path is None:
        pytest.skip("SQLite's lock file")
    Path(path + ".lock").unlink()
    with pytest.raises(InstanceLockLost, match="removed or replaced"):
        held.check()


async def _terminate(database_url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = current_database()",
            holder_name()[:63],
        )
        return count
    finally:
        await conn.close()


def test_a_terminated_postgresql_session_is_noticed(database_url: str, held: InstanceLock) -> None:
    if sqlite_path(database_url) is not None:
        pytest.skip("PostgreSQL's lock session")
    assert run_asyncio(_terminate(database_url)) == 1
    with pytest.raises(InstanceLockLost, match="connection failed"):
        held.check()
    # And the store is free again for the relay that takes over.
    acquire_instance_lock(database_url).release()


def test_an_in_memory_database_needs_no_lock() -> None:
    one = acquire_instance_lock("sqlite://:memory:")
    two = acquire_instance_lock("sqlite://:memory:")
    one.check()
    one.release()
    two.release()
