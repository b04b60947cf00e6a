"""0018/0019 store a task's and a pair's creator kind; rows stored before an upgrade get the
kind their creator had then (an agent of that id, or not), so an agent registered later
under a sub's name takes nothing of that sub's older tasks and pairs either."""

from __future__ import annotations

from functools import partial

import pytest
import trio
from tortoise.connection import get_connection

from relay.store import pairs as pair_store
from relay.store import tasks as task_store
from tests.conftest import open_store
from tests.store.test_migrations import migrate_only_to

# Rows as the relay before 0018 left them: no created_by_agent column.
SEED = """
INSERT INTO agents (id, name, kind, status, ready, tags, orchestrator_id,
    provider_capabilities, meta, registered_at, last_seen_at)
VALUES ('a1', 'a1', 'agent', 'online', false, '[]', NULL, NULL, '{}', 1, 1);
INSERT INTO tasks (id, title, body, context_id, reference_task_ids, depends_on,
    routing_hints, preferred_agent_id, created_by, assignee, status, status_message, result,
    artifacts, attempt, max_attempts, lease_expires_at, lease_ms, version, created_at,
    updated_at)
VALUES
    ('t_agent', 't', 'b', 'c1', '[]', '[]', '{}', NULL, 'a1', NULL, 'submitted', NULL, NULL,
     '[]', 0, 3, NULL, 0, 1, 1, 1),
    ('t_sub', 't', 'b', 'c2', '[]', '[]', '{}', NULL, 'ci-bot', NULL, 'submitted', NULL, NULL,
     '[]', 0, 3, NULL, 0, 1, 2, 2);
INSERT INTO pairs (id, driver, navigator, task_id, objective, conversation_id, status,
    joined, created_by, version, created_at, updated_at)
VALUES
    ('p_agent', 'a1', 'a2', NULL, NULL, 'conv1', 'pending', '[]', 'a1', 1, 1, 1),
    ('p_sub', 'a1', 'a2', NULL, NULL, 'conv2', 'pending', '[]', 'ci-bot', 1, 2, 2);
"""


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests apply the migrations themselves: they start from nothing."""
    return empty_database_url


async def seed() -> None:
    await get_connection("default").execute_script(SEED)


async def test_rows_stored_before_the_upgrade_get_their_creators_kind(database_url: str) -> None:
    await trio.to_thread.run_sync(migrate_only_to, database_url, "0017_table_descriptions", seed)
    async with open_store(database_url) as store:
        kinds = {}
        for task_id in ("t_agent", "t_sub"):
            task = await store.run(partial(task_store.load, task_id))
            assert task is not None
            kinds[task_id] = task.created_by_agent
        for pair_id in ("p_agent", "p_sub"):
            pair = await store.run(partial(pair_store.load, pair_id))
            assert pair is not None
            kinds[pair_id] = pair.created_by_agent
    assert kinds == {"t_agent": True, "t_sub": False, "p_agent": True, "p_sub": False}
