"""``event: presence`` on GET /api/events: heartbeats that change no status reach the
stream as coalesced ``lastSeenAt`` / ``lastHeartbeatAt`` updates, with no SSE id,
filtered like the stream's events, never stored nor replayed.

The one-frame-a-second rule at fleet scale is pinned on the hub with trio's mock clock
(tests/test_events_presence.py); here the window is shortened to keep the tests quick.
"""

from __future__ import annotations

from typing import Any

import pytest

from relay.clock import ManualClock
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.sse_client import EventStream, Frame, open_stream, post_activity


@pytest.fixture(autouse=True)
def short_window(services: Services) -> None:
    services.runtime.events.presence.window_seconds = 0.02


async def next_presence(stream: EventStream) -> Frame:
    while True:
        frame = await stream.next_frame()
        if frame.event == "presence":
            return frame


async def register(client: Any, agent_id: str) -> dict[str, Any]:
    response = await client.post("/api/agents", json={"id": agent_id, "name": agent_id}, headers=H)
    assert response.status_code == 201
    card: dict[str, Any] = await response.get_json()
    return card


async def beat(client: Any, agent_id: str, headers: dict[str, str] = H) -> dict[str, Any]:
    response = await client.post(f"/api/agents/{agent_id}/heartbeat", headers=headers)
    assert response.status_code == 200
    card: dict[str, Any] = await response.get_json()
    return card


async def test_a_heartbeat_that_changes_no_status_reaches_the_stream_as_presence(
    client: Any, clock: ManualClock
) -> None:
    await register(client, "a1")
    async with open_stream(client) as stream:
        clock.advance(10)
        card = await beat(client, "a1")
        frame = await next_presence(stream)
        marker = await post_activity(client, "after")
        after = await stream.next_frame()
    assert card["status"] == "online"
    assert frame.id is None
    assert frame.data == {"agents": {"a1": card["lastSeenAt"]}, "orchestrators": {}}
    # The heartbeat published no agent event: the next framed event is the marker.
    assert (after.event, after.data) == ("activity", marker)


async def test_an_orchestrator_heartbeat_reaches_the_stream_as_presence(
    client: Any, clock: ManualClock
) -> None:
    await register_orchestrator(client, "o1")
    async with open_stream(client) as stream:
        clock.advance(10)
        response = await client.post("/api/orchestrators/o1/heartbeat", headers=H)
        assert response.status_code == 200
        orch = await response.get_json()
        frame = await next_presence(stream)
    assert frame.data == {"agents": {}, "orchestrators": {"o1": orch["lastHeartbeatAt"]}}


async def test_a_constrained_token_sees_the_presence_of_its_agents_only(
    client: Any, mint: Any
) -> None:
    await register(client, "mine")
    await register(client, "other")
    await register_orchestrator(client, "o1")
    token = mint(["activity:read"], {"agents": ["mine"]})
    async with open_stream(client, headers=bearer(token)) as stream:
        await beat(client, "other")
        await client.post("/api/orchestrators/o1/heartbeat", headers=H)
        mine = await beat(client, "mine")
        frame = await next_presence(stream)
    assert frame.data == {"agents": {"mine": mine["lastSeenAt"]}, "orchestrators": {}}


async def test_the_agent_id_filter_applies_to_presence(client: Any) -> None:
    await register(client, "a1")
    await register(client, "a2")
    async with open_stream(client, query={"agentId": "a2"}) as stream:
        await beat(client, "a1")
        a2 = await beat(client, "a2")
        frame = await next_presence(stream)
    assert frame.data == {"agents": {"a2": a2["lastSeenAt"]}, "orchestrators": {}}


async def test_presence_is_not_replayed_on_reconnect(client: Any) -> None:
    await register(client, "a1")
    async with open_stream(client) as stream:
        seen = await post_activity(client, "before")
        before = await stream.next_event()
        assert before.data == seen
        await beat(client, "a1")
        await next_presence(stream)
    async with open_stream(client, headers={**H, "Last-Event-ID": str(before.id)}) as stream:
        marker = await post_activity(client, "after")
        frames: list[Frame] = []
        while not frames or frames[-1].id is None:
            frames.append(await stream.next_frame())
    assert [frame.event for frame in frames if frame.event is not None] == ["activity"]
    assert frames[-1].data == marker


async def test_an_orchestrator_token_sees_the_presence_of_its_own_only(
    client: Any, clock: ManualClock
) -> None:
    """Presence stands for ``agent`` and ``orchestrator`` events, and is filtered as the
    stream's guard filters them: o1's runtime token (orchestrators [o1]) is not told when
    o2 or o2's agents beat."""
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    for agent_id, orchestrator_id in (("a1", "o1"), ("a2", "o2")):
        response = await client.post(
            "/api/agents", json={"id": agent_id, "orchestratorId": orchestrator_id}, headers=H
        )
        assert response.status_code == 201
    seen: dict[str, dict[str, int]] = {"agents": {}, "orchestrators": {}}
    async with open_stream(client, headers=bearer(o1["token"])) as stream:
        clock.advance(10)
        for orchestrator_id in ("o2", "o1"):
            response = await client.post(
                f"/api/orchestrators/{orchestrator_id}/heartbeat", headers=H
            )
            assert response.status_code == 200
        await beat(client, "a2")
        await beat(client, "a1")
        while "a1" not in seen["agents"] or "o1" not in seen["orchestrators"]:
            frame = await next_presence(stream)
            for kind in seen:
                seen[kind].update(frame.data[kind])
    assert (set(seen["agents"]), set(seen["orchestrators"])) == ({"a1"}, {"o1"})


async def test_a_path_limited_token_sees_the_heartbeats_of_the_hosts_it_reads(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    """A host's presence reaches a caller limited by path only where it reads the host's
    card: the host's baseDir and its paths overlap (``access.reaches_host``)."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    token = bearer(mint(["activity:read", "agent:read"], {"cwd": ["/srv/o1/x"]}, role="dashboard"))
    seen: dict[str, int] = {}
    async with open_stream(client, headers=token) as stream:
        clock.advance(10)
        for orchestrator_id in ("o2", "o1"):
            response = await client.post(
                f"/api/orchestrators/{orchestrator_id}/heartbeat", headers=H
            )
            assert response.status_code == 200
        while "o1" not in seen:
            seen.update((await next_presence(stream)).data["orchestrators"])
    assert set(seen) == {"o1"}
