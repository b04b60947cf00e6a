"""0021 names the orchestrator of activity rows stored before it: an agent's row gets the
orchestrator that agent is stored under, a command audit to an orchestrator its target;
the relay's own rows (no agent) keep none."""

from __future__ import annotations

import pytest
import trio
from tortoise.connection import get_connection

from relay.store import activity as activity_store
from tests.conftest import open_store
from tests.store.test_migrations import migrate_only_to

# Rows as the relay before 0021 left them: no orchestrator_id column.
SEED = """
INSERT INTO agents (id, name, kind, status, ready, tags, orchestrator_id,
    provider_capabilities, meta, registered_at, last_seen_at)
VALUES ('a1', 'a1', 'agent', 'online', false, '[]', 'o1', NULL, '{}', 1, 1);
INSERT INTO activity_events (kind, title, view, agent_id, metadata, created_at)
VALUES
    ('command', 'agent row', 'commands', 'a1', '{"target": "a1"}', 1),
    ('command', 'orchestrator row', 'commands', NULL, '{"target": "o2"}', 2),
    ('note', 'relay row', NULL, NULL, '{}', 3),
    ('note', 'gone agent row', NULL, 'a9', '{}', 4);
"""


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests apply the migrations themselves: they start from nothing."""
    return empty_database_url


async def seed() -> None:
    await get_connection("default").execute_script(SEED)


async def test_rows_stored_before_the_upgrade_name_their_orchestrator(database_url: str) -> None:
    await trio.to_thread.run_sync(migrate_only_to, database_url, "0020_creator_kind_backfill", seed)
    async with open_store(database_url) as store:
        rows = await store.run(
            lambda: activity_store.page(view=None, agent_id=None, after=None, limit=10)
        )
        mine = await store.run(
            lambda: activity_store.page(
                view=None, agent_id=None, after=None, limit=10, orchestrators=["o1"]
            )
        )
    assert {row.title: row.orchestrator_id for row in rows} == {
        "agent row": "o1",
        "orchestrator row": "o2",
        "relay row": None,
        "gone agent row": None,
    }
    assert [row.title for row in mine] == ["relay row", "agent row"]
