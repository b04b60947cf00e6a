"""0021 names the orchestrator of activity rows stored before it: a workspace's row gets
that workspace's orchestrator, an agent's row the orchestrator that agent is stored under,
a command audit to an orchestrator its target; the relay's own rows keep none. The stream's
log of those rows (replayed on Last-Event-ID) carries it too."""

from __future__ import annotations

import pytest
import trio
from tortoise.connection import get_connection

from relay.store import activity as activity_store
from relay.store import stream as stream_store
from tests.conftest import open_store
from tests.store.test_migrations import migrate_only_to

# Rows as the relay before 0021 left them: no orchestrator_id column.
SEED = """
INSERT INTO agents (id, name, kind, status, ready, tags, orchestrator_id,
    provider_capabilities, meta, registered_at, last_seen_at)
VALUES ('a1', 'a1', 'agent', 'online', false, '[]', 'o1', NULL, '{}', 1, 1);
INSERT INTO workspaces (id, agent_id, orchestrator_id, repo_root, source_cwd,
    worktree_path, branch, base_ref, base_sha, mode, status, metadata, created_at,
    updated_at)
VALUES ('w2', NULL, 'o2', '/srv/o2/r', '/srv/o2/r', '/srv/o2/w', NULL, NULL, NULL,
    'isolated', 'active', '{}', 1, 1);
INSERT INTO activity_events (id, kind, title, view, agent_id, metadata, created_at)
VALUES
    (1, 'command', 'agent row', 'commands', 'a1', '{"target": "a1"}', 1),
    (2, 'command', 'orchestrator row', 'commands', NULL, '{"target": "o2"}', 2),
    (3, 'note', 'relay row', NULL, NULL, '{}', 3),
    (4, 'note', 'gone agent row', NULL, 'a9', '{}', 4),
    (5, 'state', 'lease row', 'orchestrators', NULL, '{"workspaceId": "w2"}', 5),
    (6, 'state', 'gone workspace row', 'orchestrators', NULL, '{"workspaceId": "w9"}', 6);
INSERT INTO stream_events (id, event, data, view, agent_id, created_at)
VALUES
    (10, 'activity', '{"id": 2, "title": "orchestrator row", "view": "commands"}', 'commands',
     NULL, 2),
    (11, 'activity', '{"id": 3, "title": "relay row"}', NULL, NULL, 3);
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
        logged = await store.run(lambda: stream_store.after(0, limit=10))
    assert {row.title: row.orchestrator_id for row in rows} == {
        "agent row": "o1",
        "orchestrator row": "o2",
        "relay row": None,
        "gone agent row": None,
        "lease row": "o2",
        "gone workspace row": None,
    }
    # A row of a host's view that names no orchestrator is not the relay's own.
    assert [row.title for row in mine] == ["relay row", "agent row"]
    assert [event.data.get("orchestratorId") for event in logged] == ["o2", None]
