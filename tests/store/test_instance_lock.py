"""The instance lock (SQLite): one holder per store, the refused one told who holds it, loss
noticed. PostgreSQL has none: its relays elect an active one (tests/test_election.py)."""

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
)
from relay.store.schema import sqlite_path


@pytest.fixture
def database_url(database_url: str) -> str:
    if sqlite_path(database_url) is None:
        pytest.skip("the instance lock is SQLite's; PostgreSQL elects (tests/test_election.py)")
    return database_url


def test_a_postgresql_store_has_no_instance_lock() -> None:
    with pytest.raises(ValueError, match="only a SQLite store"):
        acquire_instance_lock("postgres://relay@127.0.0.1/relay")


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
    assert path is not None
    Path(path + ".lock").unlink()
    with pytest.raises(InstanceLockLost, match="removed or replaced"):
        held.check()


def test_an_in_memory_database_needs_no_lock() -> None:
    one = acquire_instance_lock("sqlite://:memory:")
    two = acquire_instance_lock("sqlite://:memory:")
    one.check()
    one.release()
    two.release()
