"""Registration reaches the live stream: ``POST /api/agents`` publishes ``agent`` with
``change: "registered"`` (first registration and re-registration), in the shape PATCH
publishes; orchestrator registration publishes its ``orchestrator`` event.

The browser test ``test_agent_registered_through_the_api_appears_live`` passed without
this: its relay reaps silent agents after 1 s, and the reaper's ``status`` event carried
the new card to the page. These tests read the frame itself.
"""

from __future__ import annotations

from typing import Any

from tests.http.helpers import H, register_orchestrator
from tests.http.sse_client import EventStream, Frame, open_stream


async def next_of(stream: EventStream, event: str) -> Frame:
    while True:
        frame = await stream.next_event()
        if frame.event == event:
            return frame


async def register(client: Any, agent_id: str, **fields: Any) -> tuple[dict[str, Any], int]:
    response = await client.post(
        "/api/agents", json={"id": agent_id, "name": agent_id, **fields}, headers=H
    )
    assert response.status_code in (200, 201), await response.get_data()
    return await response.get_json(), response.status_code


async def test_a_first_registration_publishes_the_registered_agent(client: Any) -> None:
    async with open_stream(client) as stream:
        body, status = await register(client, "a1", tags=["x"])
        frame = await next_of(stream, "agent")
    assert status == 201
    assert frame.data["change"] == "registered"
    card = {k: v for k, v in body.items() if k != "heartbeatIntervalSeconds"}
    assert frame.data["agent"] == card


async def test_a_re_registration_publishes_registered_too(client: Any) -> None:
    await register(client, "a1")
    async with open_stream(client) as stream:
        body, status = await register(client, "a1", tags=["y"])
        frame = await next_of(stream, "agent")
    assert status == 200
    assert frame.data["change"] == "registered"
    assert frame.data["agent"]["tags"] == ["y"]
    assert frame.data["agent"]["id"] == body["id"]


async def test_the_registered_event_has_the_shape_of_the_patch_event(client: Any) -> None:
    async with open_stream(client) as stream:
        await register(client, "a1")
        registered = await next_of(stream, "agent")
        response = await client.patch("/api/agents/a1", json={"name": "renamed"}, headers=H)
        assert response.status_code == 200
        patched = await next_of(stream, "agent")
    assert set(registered.data) == set(patched.data) == {"change", "agent"}
    assert set(registered.data["agent"]) == set(patched.data["agent"])
    assert patched.data["change"] == "updated"


async def test_a_registration_is_replayed_to_a_client_that_missed_it(client: Any) -> None:
    async with open_stream(client) as stream:
        await register(client, "before")
        seen = await next_of(stream, "agent")
    await register(client, "missed")
    headers = {**H, "Last-Event-ID": str(seen.id)}
    async with open_stream(client, headers=headers) as stream:
        frame = await next_of(stream, "agent")
    assert (frame.data["change"], frame.data["agent"]["id"]) == ("registered", "missed")


async def test_a_constrained_stream_sees_only_its_agents_register(client: Any, mint: Any) -> None:
    token = mint(["activity:read"], {"agents": ["mine"]})
    async with open_stream(client, headers={"Authorization": f"Bearer {token}"}) as stream:
        await register(client, "other")
        await register(client, "mine")
        frame = await next_of(stream, "agent")
    assert frame.data["agent"]["id"] == "mine"


async def test_orchestrator_registration_publishes_registered_then_updated(client: Any) -> None:
    async with open_stream(client) as stream:
        await register_orchestrator(client, "o1")
        first = await next_of(stream, "orchestrator")
        await register_orchestrator(client, "o1")
        again = await next_of(stream, "orchestrator")
    assert (first.data["change"], first.data["orchestrator"]["id"]) == ("registered", "o1")
    assert (again.data["change"], again.data["orchestrator"]["id"]) == ("updated", "o1")
