"""SSE ``memory`` events follow where the caller's agents are stored *now*, as the memory
routes do: an open stream stops carrying what its caller no longer sees once an agent moves
to another orchestrator, and starts carrying what it sees once one moves (or is registered)
under its orchestrator — whatever held when the stream opened.

A stream that must not receive an event is shown so by the next event it does receive."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.sse_client import open_stream
from tests.http.test_memory import created
from tests.http.test_memory_events import next_memory_event
from tests.http.test_messages import agent

SCOPES = ["memory:read", "memory:write", "activity:read"]


def orchestrator_token(mint: Any, orchestrator_id: str) -> dict[str, str]:
    grant = {"orchestrators": [orchestrator_id]}
    return bearer(mint(SCOPES, grant, sub=orchestrator_id, role="orchestrator"))


async def move(client: Any, agent_id: str, orchestrator_id: str) -> None:
    moved = await client.post(
        "/api/agents",
        json={"id": agent_id, "name": agent_id, "orchestratorId": orchestrator_id},
        headers=H,
    )
    assert moved.status_code in (200, 201), await moved.get_data()


async def test_a_stream_stops_carrying_a_private_memory_of_an_agent_moved_away(
    client: Any, mint: Any
) -> None:
    """After a1 moves from o1 to o2, o1's token no longer sees a1's private repo memory:
    GET answers 404, and o1's open stream does not carry its event either (the next one
    it gets is a shared memory it still sees through a2)."""
    await register_orchestrator(client, "o1")
    await register_orchestrator(client, "o2")
    await agent(client, "a1", orchestratorId="o1", meta={"cwd": "/srv/one"})
    await agent(client, "a2", orchestratorId="o1", meta={"cwd": "/srv/one"})
    a1 = bearer(mint(SCOPES, {"agents": ["a1"]}, sub="a1", role="agent"))
    o1 = orchestrator_token(mint, "o1")
    async with open_stream(client, headers=o1) as stream:
        await move(client, "a1", "o2")
        private = await created(
            client,
            a1,
            scope="repo",
            scopeKey="/srv/one",
            visibility="private",
            title="a1's own plan",
        )
        got = await client.get(f"/api/memory/{private['id']}", headers=o1)
        assert got.status_code == 404, await got.get_data()
        last = (await created(client, title="sentinel"))["id"]
        event = await next_memory_event(stream)
        assert event["memory"]["id"] == last, event


async def test_a_stream_carries_the_memories_of_an_agent_moved_in(client: Any, mint: Any) -> None:
    """a2 moves from o2 to o1 after o1's stream opened: o1 now reads a2's agent-scope
    memory (GET 200), and its stream carries that memory's event."""
    await register_orchestrator(client, "o1")
    await register_orchestrator(client, "o2")
    await agent(client, "a1", orchestratorId="o1", meta={"cwd": "/srv/one"})
    await agent(client, "a2", orchestratorId="o2", meta={"cwd": "/srv/one"})
    o1 = orchestrator_token(mint, "o1")
    async with open_stream(client, headers=o1) as stream:
        await move(client, "a2", "o1")
        own = await created(client, scope="agent", scopeKey="a2", title="a2's notes")
        got = await client.get(f"/api/memory/{own['id']}", headers=o1)
        assert got.status_code == 200, await got.get_data()
        event = await next_memory_event(stream)
        assert event["memory"]["id"] == own["id"], event


async def test_a_stream_follows_whether_its_caller_acts_for_any_agent(
    client: Any, mint: Any
) -> None:
    """A global memory reaches a caller acting for some agent. o3 acts for none when its
    stream opens (the routes answer it 403); once a3 is registered under o3 it reads global
    memories and its stream carries them; once a3 moves away, neither (the next event o3
    gets is its own orchestrator's, not the memory)."""
    await register_orchestrator(client, "o2")
    await register_orchestrator(client, "o3")
    o3 = orchestrator_token(mint, "o3")
    async with open_stream(client, headers=o3) as stream:
        await agent(client, "a3", orchestratorId="o3", meta={"cwd": "/srv/one"})
        first = (await created(client, title="for everyone"))["id"]
        got = await client.get(f"/api/memory/{first}", headers=o3)
        assert got.status_code == 200, await got.get_data()
        assert (await next_memory_event(stream))["memory"]["id"] == first

        await move(client, "a3", "o2")
        unseen = (await created(client, title="while o3 runs nothing"))["id"]
        refused = await client.get(f"/api/memory/{unseen}", headers=o3)
        assert refused.status_code == 403, await refused.get_data()
        await register_orchestrator(client, "o3")  # an event o3's stream does carry
        while True:
            frame = await stream.next_event()
            if frame.event in ("memory", "orchestrator"):
                break
        assert (frame.event, frame.data.get("memory")) == ("orchestrator", None), frame
