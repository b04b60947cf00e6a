"""The config query module on a real store thread (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest

from relay.domain.config import ConfigRevision, ConfigWrite, VersionConflict, Written
from relay.store import config as config_store
from relay.store import models
from relay.store.thread import StoreThread
from tests.conftest import open_store

NOW = 1_700_000_000_000


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[StoreThread]:
    async with open_store(database_url) as thread:
        yield thread


async def put(store: StoreThread, value: Any, **fields: Any) -> Written | VersionConflict:
    change = ConfigWrite(namespace="ns", key="k", value=value, **fields)
    return await store.write(lambda: config_store.put(change, NOW))


async def written(store: StoreThread, value: Any, **fields: Any) -> Written:
    outcome = await put(store, value, **fields)
    assert isinstance(outcome, Written)
    return outcome


async def test_put_then_get_and_get_value(store: StoreThread) -> None:
    first = await written(store, {"a": 1}, updated_by="me")
    assert first.created
    assert (first.entry.version, first.entry.updated_by, first.entry.updated_at) == (1, "me", NOW)
    second = await written(store, {"a": 2})
    assert not second.created
    assert second.entry.version == 2
    assert await store.run(lambda: config_store.get("ns", "k")) == second.entry
    assert await store.run(lambda: config_store.get_value("ns", "k")) == {"a": 2}
    assert await store.run(lambda: config_store.get_value("ns", "missing")) is None


@pytest.mark.parametrize("value", ["12", '{"a": 1}', "null", "", "plain"])
async def test_string_values_stay_strings(store: StoreThread, value: str) -> None:
    await written(store, value)  # created: the insert path
    assert await store.run(lambda: config_store.get_value("ns", "k")) == value
    await written(store, value)  # the update path
    assert await store.run(lambda: config_store.get_value("ns", "k")) == value
    revisions = await store.run(lambda: config_store.history("ns", "k", 10))
    assert [revision.value for revision in revisions] == [value, value]


async def test_stale_expected_version_writes_nothing(store: StoreThread) -> None:
    await written(store, 1)
    assert await put(store, 2, expected_version=0) == VersionConflict(1)
    assert await put(store, 2, expected_version=2) == VersionConflict(1)
    assert await store.run(lambda: config_store.get_value("ns", "k")) == 1
    assert len(await store.run(lambda: config_store.history("ns", "k", 10))) == 1


async def test_losing_a_race_to_another_process_is_a_conflict(store: StoreThread) -> None:
    """Another relay process committed history version 2 between our read and our write."""
    await written(store, "ours")

    async def other_process_wins() -> None:
        await models.ConfigHistory.create(
            namespace="ns", key="k", version=2, value={"theirs": True}, updated_at=NOW
        )

    await store.write(other_process_wins)
    assert await put(store, "late") == VersionConflict(1)
    assert await store.run(lambda: config_store.get_value("ns", "k")) == "ours"


async def test_a_lost_race_does_not_roll_back_its_batch(store: StoreThread) -> None:
    """Jobs of one group commit share a transaction: the refusal must not poison it."""
    await written(store, "ours")
    await store.write(
        lambda: models.ConfigHistory.create(
            namespace="ns", key="k", version=2, value={"theirs": True}, updated_at=NOW
        )
    )

    async def batch() -> tuple[Any, Any]:
        lost = await config_store.put(ConfigWrite("ns", "k", "late"), NOW)
        other = await config_store.put(ConfigWrite("ns", "other", "fine"), NOW)
        return lost, other

    lost, other = await store.write(batch)
    assert lost == VersionConflict(1)
    assert isinstance(other, Written)
    assert await store.run(lambda: config_store.get_value("ns", "other")) == "fine"


async def test_delete_appends_a_deleted_revision(store: StoreThread) -> None:
    await written(store, "a")
    deleted = await store.write(lambda: config_store.delete("ns", "k", now=NOW, updated_by="me"))
    assert deleted == ConfigRevision("ns", "k", 2, None, True, NOW, "me")
    assert await store.run(lambda: config_store.get("ns", "k")) is None
    assert await store.write(lambda: config_store.delete("ns", "k", now=NOW)) is None
    revisions = await store.run(lambda: config_store.history("ns", "k", 10))
    assert [(r.version, r.deleted, r.value) for r in revisions] == [
        (2, True, None),
        (1, False, "a"),
    ]


async def test_versions_continue_after_a_delete(store: StoreThread) -> None:
    await written(store, "a")
    await store.write(lambda: config_store.delete("ns", "k", now=NOW))
    again = await written(store, "b", expected_version=0)
    assert again.created
    assert again.entry.version == 3


async def test_delete_with_a_stale_expected_version_keeps_the_entry(store: StoreThread) -> None:
    await written(store, "a")
    await written(store, "b")
    outcome = await store.write(lambda: config_store.delete("ns", "k", now=NOW, expected_version=1))
    assert outcome == VersionConflict(2)
    missing = await store.write(
        lambda: config_store.delete("ns", "missing", now=NOW, expected_version=3)
    )
    assert missing == VersionConflict(0)
    assert await store.run(lambda: config_store.get_value("ns", "k")) == "b"


async def test_list_namespace_by_key(store: StoreThread) -> None:
    for key in ("b", "a"):
        change = ConfigWrite(namespace="ns", key=key, value=key)
        await store.write(partial(config_store.put, change, NOW))
    await store.write(lambda: config_store.put(ConfigWrite("other", "c", "c"), NOW))
    entries = await store.run(lambda: config_store.list_namespace("ns"))
    assert [entry.key for entry in entries] == ["a", "b"]
