"""0025 moves channel audits stored in the ``config`` view, and their events in the
stream's log, to the ``channels`` view they are written in since: read with message:read,
as channels are. Other config rows stay where they are."""

from __future__ import annotations

import pytest
import trio
from tortoise.connection import get_connection

from relay.store import activity as activity_store
from relay.store import stream as stream_store
from tests.conftest import open_store
from tests.store.test_migrations import migrate_only_to

# Rows as the relay before 0025 left them: channel audits and events in the config view.
SEED = """
INSERT INTO activity_events (id, kind, title, icon, view, agent_id, metadata, created_at)
VALUES
    (1, 'config', 'Channel created', 'ti-messages', 'config', NULL, '{"channelId": "c1"}', 1),
    (2, 'config', 'Config changed', 'ti-settings', 'config', NULL, '{}', 2);
INSERT INTO stream_events (id, event, data, view, agent_id, created_at)
VALUES
    (10, 'activity', '{"id": 1, "icon": "ti-messages", "view": "config"}', 'config', NULL, 1),
    (11, 'activity', '{"id": 2, "icon": "ti-settings", "view": "config"}', 'config', NULL, 2),
    (12, 'channel', '{"change": "created", "channel": {"id": "c1"}}', 'config', NULL, 1);
"""


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests apply the migrations themselves: they start from nothing."""
    return empty_database_url


async def seed() -> None:
    await get_connection("default").execute_script(SEED)


async def test_channel_rows_stored_before_move_to_the_channels_view(database_url: str) -> None:
    await trio.to_thread.run_sync(migrate_only_to, database_url, "0024_activity_path", seed)
    async with open_store(database_url) as store:
        rows = await store.run(
            lambda: activity_store.page(view=None, agent_id=None, after=None, limit=10)
        )
        logged = await store.run(lambda: stream_store.after(0, limit=10))
    assert {row.title: row.view for row in rows} == {
        "Channel created": "channels",
        "Config changed": "config",
    }
    assert [(event.id, event.view) for event in logged] == [
        (10, "channels"),
        (11, "config"),
        (12, "channels"),
    ]
    assert [event.data.get("view") for event in logged[:2]] == ["channels", "config"]
