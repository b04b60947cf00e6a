"""Versioned migrations: a fresh store gets every one, an existing one upgrades in place.

``StoreThread.start``/``stop`` block, so they run through ``trio.to_thread``; queries run on
the store's own loop through ``store.run``, like everywhere else.
"""

from __future__ import annotations

import asyncio
import logging
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest
import trio
from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from tortoise.migrations.recorder import MigrationRecorder

import relay.store.migrations
from relay.domain.agents import AgentCard
from relay.store import agents as agent_store
from relay.store import models
from relay.store.schema import APP, tortoise_config
from relay.store.thread import StoreThread
from tests.conftest import open_store

MIGRATIONS = sorted(module.name for module in pkgutil.iter_modules(relay.store.migrations.__path__))


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests apply the migrations themselves: they start from nothing."""
    return empty_database_url


async def applied(store: StoreThread) -> list[str]:
    async def job() -> list[str]:
        keys = await MigrationRecorder(get_connection("default")).applied_migrations()
        return sorted(key.name for key in keys if key.app_label == APP)

    return await store.run(job)


async def pending(store: StoreThread) -> list[str]:
    async def job() -> list[str]:
        config = tortoise_config(store.database_url)
        executor = MigrationExecutor(get_connection("default"), {APP: config["apps"][APP]})
        return [step.migration.name for step in await executor.plan()]

    return await store.run(job)


def card(agent_id: str) -> AgentCard:
    return AgentCard(
        id=agent_id,
        name=f"name-{agent_id}",
        kind="agent",
        status="online",
        ready=True,
        tags=("t",),
        orchestrator_id=None,
        provider_capabilities=None,
        meta={"k": agent_id},
        registered_at=1,
        last_seen_at=2,
    )


def migration_events(caplog: pytest.LogCaptureFixture, event: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "relay.store" and f"event={event}" in r.getMessage()
    ]


def test_there_are_migrations() -> None:
    # The control for the tests below: they compare against this list.
    assert MIGRATIONS[0] == "0001_initial"
    assert len(MIGRATIONS) >= 2


async def test_fresh_store_has_every_migration_applied(database_url: str) -> None:
    async with open_store(database_url) as store:
        assert await applied(store) == MIGRATIONS
        assert await pending(store) == []


async def test_reopening_applies_nothing_and_keeps_rows(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_store(database_url) as store:
        await store.write(lambda: agent_store.insert(card("a1")))

    caplog.clear()
    caplog.set_level(logging.INFO, logger="relay.store")
    async with open_store(database_url) as store:
        assert migration_events(caplog, "apply_start") == []
        assert await applied(store) == MIGRATIONS
        assert await store.run(lambda: agent_store.load("a1")) == card("a1")


def migrate_only_to(database_url: str, target: str, seed: Callable[[], Any]) -> None:
    """An older relay's data dir: migrations up to ``target``, and a row written by it."""

    async def main() -> None:
        config = tortoise_config(database_url)
        await Tortoise.init(config=config)
        try:
            executor = MigrationExecutor(get_connection("default"), {APP: config["apps"][APP]})
            await executor.migrate([MigrationTarget(APP, target)])
            await seed()
        finally:
            await Tortoise.close_connections()

    asyncio.run(main())


async def _old_agent_row() -> None:
    """``card("old")`` as a row of the agents table alone: what the schema before the last
    migration holds, whatever else today's ``agent_store.insert`` writes."""
    old = card("old")
    await models.Agent.create(
        id=old.id,
        name=old.name,
        kind=old.kind,
        status=old.status,
        ready=old.ready,
        tags=list(old.tags),
        orchestrator_id=old.orchestrator_id,
        provider_capabilities=old.provider_capabilities,
        meta=old.meta,
        registered_at=old.registered_at,
        last_seen_at=old.last_seen_at,
    )


async def test_older_schema_is_upgraded_in_place(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    previous = MIGRATIONS[-2]
    await trio.to_thread.run_sync(migrate_only_to, database_url, previous, _old_agent_row)

    caplog.set_level(logging.INFO, logger="relay.store")
    async with open_store(database_url) as store:
        assert await applied(store) == MIGRATIONS
        assert await store.run(lambda: agent_store.load("old")) == card("old")
        # ... and the upgraded store takes new rows next to the old ones.
        await store.write(lambda: agent_store.insert(card("new")))
        cards = await store.run(agent_store.list_cards)
    assert [c.id for c in cards] == ["new", "old"]
    applied_now = migration_events(caplog, "apply_start")
    assert len(applied_now) == 1
    assert MIGRATIONS[-1] in applied_now[0]
