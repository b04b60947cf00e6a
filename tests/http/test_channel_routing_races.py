"""Sends racing into one exclusive channel (messaging.md "Channels", promise 4).

The channel actor picks and records in one step, counting its own picks the store does not
show yet (``rules.effective_loads``). What that guarantees: while no delivery is acked or
expired during the burst and the clock stays inside ``rules.FLOOR_WINDOW_MS``, concurrent
sends pick as if they had run one after another, so the matching agents' loads end at
most one apart (or the least loaded catch up first).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import trio

from relay.actors import channels
from relay.actors.channels import rules
from relay.clock import ManualClock
from relay.http.services import Services
from relay.settings import Settings
from tests.http.test_channel_messages import (
    H,
    channel,
    fetch,
    post,
    recipients,
    register,
    route,
    sent,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "job_agent_reaper_seconds": 3600,
            "job_inbox_lease_expiry_seconds": 3600,
            "job_message_expiry_seconds": 3600,
        }
    )


async def concurrent_sends(client: Any, count: int, channel_id: str = "ops") -> Counter[str]:
    picked: Counter[str] = Counter()

    async def one(index: int) -> None:
        response = await post(client, channelId=channel_id, body=f"job {index}")
        assert response.status_code == 201, await response.get_data()
        for agent_id in recipients(await response.get_json()):
            picked[agent_id] += 1

    async with trio.open_nursery() as nursery:
        for index in range(count):
            nursery.start_soon(one, index)
    return picked


async def test_twenty_racing_sends_split_ten_and_ten(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    picked = await concurrent_sends(client, 20)
    assert picked == Counter({"w1": 10, "w2": 10})
    # The inboxes hold what the sends answered: nothing was picked twice unseen.
    assert len(await fetch_all(client, "w1")) == 10
    assert len(await fetch_all(client, "w2")) == 10


async def test_racing_sends_fill_the_least_loaded_first(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await register(client, "w3", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    for _ in range(3):
        await sent(client, to="w1", body="busy")
    picked = await concurrent_sends(client, 9)
    loads = {"w1": 3 + picked["w1"], "w2": picked["w2"], "w3": picked["w3"]}
    assert sum(picked.values()) == 9
    assert max(loads.values()) - min(loads.values()) <= 1, loads
    assert loads["w1"] == 4  # 12 deliveries over 3 agents: w1 takes one more


async def test_after_a_burst_the_dry_run_is_the_next_send(client: Any, services: Services) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await register(client, "w3", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    await concurrent_sends(client, 7)
    before = await channels.get_channel(services.runtime, "ops")
    predicted = await route(client)
    assert await route(client) == predicted  # the dry run records nothing
    after = await channels.get_channel(services.runtime, "ops")
    assert after.last_chosen == before.last_chosen
    assert recipients(await sent(client, channelId="ops")) == predicted


async def test_a_floor_outlives_an_ack_only_inside_its_window(
    client: Any, clock: ManualClock
) -> None:
    """The price of counting unseen picks: an agent that empties its inbox at once still
    counts the channel's pick until the window passes; then the store's load alone rules."""
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    await sent(client, to="w2", body="busy")
    assert recipients(await sent(client, channelId="ops")) == ["w1"]
    assert len(await fetch(client, "w1")) == 1  # fetched, no ack required: w1 is empty
    # Both count 1 now (w1 by its floor); w2 was chosen less recently.
    assert await route(client) == ["w2"]
    clock.advance(rules.FLOOR_WINDOW_MS / 1000)
    assert await route(client) == ["w1"]  # 0 against 1
    assert recipients(await sent(client, channelId="ops")) == ["w1"]


async def fetch_all(client: Any, agent_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/agents/{agent_id}/inbox?limit=100", headers=H)
    assert response.status_code == 200, await response.get_data()
    items: list[dict[str, Any]] = (await response.get_json())["items"]
    return items
