"""0004: commands stored before it are found by the agent they are about (params.agentId)."""

from __future__ import annotations

import pytest
import trio
from tortoise.connection import get_connection

from relay.store import commands as command_store
from tests.conftest import open_store
from tests.store.test_migrations import migrate_only_to

# Rows as an older relay left them (its insert had no agent_id column).
SEED = """
INSERT INTO commands (id, type, source, target, target_kind, correlation_id, params, status,
    result, error, attempts, created_at, updated_at, delivered_at, ack_deadline, settled_at,
    expires_at, effects_applied)
VALUES
    ('cmd_via_o1', 'agent.restart', 'root', 'o1', 'orchestrator', NULL, '{"agentId":"a1"}',
     'queued', NULL, NULL, 0, 1, 1, NULL, NULL, NULL, NULL, false),
    ('cmd_to_a1', 'agent.restart', 'root', 'a1', 'agent', NULL, '{}',
     'queued', NULL, NULL, 0, 2, 2, NULL, NULL, NULL, NULL, false),
    ('cmd_other', 'agent.restart', 'root', 'o1', 'orchestrator', NULL, '{"agentId":"a2"}',
     'queued', NULL, NULL, 0, 3, 3, NULL, NULL, NULL, NULL, false),
    ('cmd_number', 'agent.restart', 'root', 'o1', 'orchestrator', NULL, '{"agentId":7}',
     'queued', NULL, NULL, 0, 4, 4, NULL, NULL, NULL, NULL, false),
    ('cmd_plain', 'agent.restart', 'root', 'o1', 'orchestrator', NULL, '{}',
     'queued', NULL, NULL, 0, 5, 5, NULL, NULL, NULL, NULL, false)
"""


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests apply the migrations themselves: they start from nothing."""
    return empty_database_url


async def seed() -> None:
    await get_connection("default").execute_script(SEED)


async def test_old_commands_are_found_by_their_agent_after_the_upgrade(database_url: str) -> None:
    await trio.to_thread.run_sync(migrate_only_to, database_url, "0003_command_effects_index", seed)
    async with open_store(database_url) as store:
        found = await store.run(lambda: command_store.search(agent_id="a1"))
        assert [c.id for c in found] == ["cmd_to_a1", "cmd_via_o1"]
        found = await store.run(lambda: command_store.search(agent_id="7"))
        assert found == []
