"""The stale reaper end to end: ManualClock, ``reap_agents``, and what the API then shows."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.actors.agent import reap_agents
from relay.clock import ManualClock
from relay.http.services import Services
from relay.settings import Settings
from tests.conftest import root_headers, services_of

H = root_headers()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # These tests call the reaper themselves: its maintenance schedule must not beat them to it.
    return settings.model_copy(update={"job_agent_reaper_seconds": 3600})


async def status_of(client: Any, agent_id: str = "a1") -> str:
    card = await (await client.get(f"/api/agents/{agent_id}", headers=H)).get_json()
    status: str = card["status"]
    return status


async def test_silent_agent_goes_stale_then_offline_and_a_heartbeat_revives_it(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    rt = services.runtime

    clock.advance(31)
    assert [card.status for card in await reap_agents(rt)] == ["stale"]
    assert await status_of(client) == "stale"

    clock.advance(5 * 60 - 31)
    assert [card.status for card in await reap_agents(rt)] == ["offline"]
    assert await status_of(client) == "offline"

    response = await client.post("/api/agents/a1/heartbeat", headers=H)
    assert (await response.get_json())["status"] == "online"
    assert await status_of(client) == "online"


async def test_reaper_leaves_a_recent_agent_online(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    clock.advance(29)
    assert await reap_agents(services.runtime) == []
    assert await status_of(client) == "online"


@pytest.mark.parametrize(("silent_s", "status"), [(30, "stale"), (300, "offline")])
async def test_reaper_agrees_with_the_rule_at_the_exact_threshold(
    client: Any, services: Services, clock: ManualClock, silent_s: int, status: str
) -> None:
    # presence_after_silence says stale at exactly 30 s and offline at exactly 300 s;
    # the reaper's candidate query must not disagree at the boundary.
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    clock.advance(silent_s)
    await reap_agents(services.runtime)
    assert await status_of(client) == status


async def test_reaper_goes_straight_to_offline_after_a_long_silence(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    clock.advance(301)
    await reap_agents(services.runtime)
    assert await status_of(client) == "offline"


async def test_reaping_twice_changes_nothing_the_second_time(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    clock.advance(31)
    await reap_agents(services.runtime)
    assert await reap_agents(services.runtime) == []


async def test_heartbeat_resets_the_silence(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    clock.advance(20)
    await client.post("/api/agents/a1/heartbeat", headers=H)
    clock.advance(20)
    assert await reap_agents(services.runtime) == []
    assert await status_of(client) == "online"


async def test_reaper_only_moves_the_silent_agents(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await client.post("/api/agents", json={"id": "quiet"}, headers=H)
    await client.post("/api/agents", json={"id": "busy"}, headers=H)
    clock.advance(31)
    await client.post("/api/agents/busy/heartbeat", headers=H)
    changed = await reap_agents(services.runtime)
    assert [card.id for card in changed] == ["quiet"]
    assert await status_of(client, "busy") == "online"


async def test_reaper_honours_threshold_settings(open_app: Any, clock: ManualClock) -> None:
    async with open_app(agent_stale_seconds=5, agent_offline_seconds=20) as app:
        client = app.test_client()
        rt = services_of(app).runtime
        await client.post("/api/agents", json={"id": "a1"}, headers=H)

        clock.advance(4)
        await reap_agents(rt)
        assert await status_of(client) == "online"

        clock.advance(2)
        await reap_agents(rt)
        assert await status_of(client) == "stale"

        clock.advance(15)
        await reap_agents(rt)
        assert await status_of(client) == "offline"


async def test_reaped_status_survives_passivation(
    client: Any, services: Services, clock: ManualClock
) -> None:
    # The reaper's write goes through the actor to the store, not just into memory.
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    clock.advance(31)
    await reap_agents(services.runtime)
    registry = services.runtime.registry
    ref = registry.ref("agent", "a1")
    registry.passivate_idle(0)
    await trio.to_thread.run_sync(ref.actor_stopped.wait, 5)
    assert not registry.is_live("agent", "a1")
    assert await status_of(client) == "stale"
