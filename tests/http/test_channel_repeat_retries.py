"""A send refused by its channel ("no agent matches") and retried with the same
``clientMessageId``: the retry routes on the channel and agents of its own time, not on
the refused route (which the channel does not remember)."""

from __future__ import annotations

from typing import Any

import pytest

from relay.settings import Settings
from tests.conftest import root_headers
from tests.http.test_channel_messages import channel, error_of, post, recipients, register

H = root_headers()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "job_agent_reaper_seconds": 3600,
            "job_inbox_lease_expiry_seconds": 3600,
            "job_message_expiry_seconds": 3600,
        }
    )


async def send_job(client: Any) -> Any:
    return await post(client, channelId="ops", clientMessageId="job-1")


async def test_a_retry_after_no_agent_matches_sees_a_binding_added(client: Any) -> None:
    await register(client, "a1")
    await channel(client, "ops", {"mode": "broadcast"})  # tag w: nobody
    assert await error_of(await send_job(client)) == (409, "no agent matches channel ops")
    added = await client.post(
        "/api/channels/ops/bindings",
        json={"mode": "broadcast", "targetType": "agent", "target": "a1"},
        headers=H,
    )
    assert added.status_code == 201
    retried = await send_job(client)
    assert retried.status_code == 201, await retried.get_data()
    assert recipients(await retried.get_json()) == ["a1"]


async def test_a_retry_after_no_agent_matches_sees_an_agent_registered(client: Any) -> None:
    await channel(client, "ops", {"mode": "broadcast"})
    assert await error_of(await send_job(client)) == (409, "no agent matches channel ops")
    await register(client, "w1", tags=["w"])
    retried = await send_job(client)
    assert retried.status_code == 201, await retried.get_data()
    assert recipients(await retried.get_json()) == ["w1"]
