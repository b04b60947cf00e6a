"""SSE ``memory`` events per subscriber (spec/memory.md, "Events"): each stream carries
only the events of memories its caller sees (visibility rules, judged like every memory
route), never a body nor a secret's title; replay (Last-Event-ID) filters the same way.

A stream that must not receive an event is shown so by the next event it does receive:
a later shared memory every caller sees (no waiting on time)."""

from __future__ import annotations

from typing import Any

import pytest

from relay.store.stream import StreamEvent
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.sse_client import EventStream, open_stream
from tests.http.test_memory import created, patch
from tests.http.test_messages import agent

SCOPES = ["memory:read", "memory:write", "activity:read"]


@pytest.fixture
async def callers(client: Any, mint: Any) -> dict[str, dict[str, str]]:
    """a1 (orchestrator o1) and a2 (o2) work in /srv/one. Tokens: A and B are agent
    tokens (agent-constrained streams: their own agent's events only), O1 and O2 the
    orchestrators' (unconstrained streams, acting for their agents), N an orchestrator
    with no agents, op the root."""
    await register_orchestrator(client, "o1")
    await register_orchestrator(client, "o2")
    await register_orchestrator(client, "o3")
    await agent(client, "a1", orchestratorId="o1", meta={"cwd": "/srv/one"})
    await agent(client, "a2", orchestratorId="o2", meta={"cwd": "/srv/one"})

    def agent_token(agent_id: str) -> dict[str, str]:
        grant = {"agents": [agent_id], "cwd": ["/srv/one"]}
        return bearer(mint(SCOPES, grant, sub=agent_id, role="agent"))

    def orchestrator_token(orchestrator_id: str) -> dict[str, str]:
        grant = {"orchestrators": [orchestrator_id]}
        return bearer(mint(SCOPES, grant, sub=orchestrator_id, role="orchestrator"))

    return {
        "A": agent_token("a1"),
        "B": agent_token("a2"),
        "O1": orchestrator_token("o1"),
        "O2": orchestrator_token("o2"),
        "N": orchestrator_token("o3"),
        "op": H,
    }


async def sentinel(client: Any) -> str:
    """A shared global memory: every caller with memory:read sees its event."""
    return str((await created(client, title="sentinel"))["id"])


async def next_memory_event(stream: EventStream) -> dict[str, Any]:
    while True:
        frame = await stream.next_event()
        if frame.event == "memory":
            data: dict[str, Any] = frame.data
            return data


async def test_a_private_memory_reaches_only_who_sees_it(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    async with (
        open_stream(client, headers=callers["O1"]) as o1,
        open_stream(client, headers=callers["O2"]) as o2,
        open_stream(client, headers=callers["op"]) as op,
    ):
        mine = await created(
            client, callers["A"], scope="repo", scopeKey="/srv/one", visibility="private"
        )
        last = await sentinel(client)
        for stream in (o1, op):
            event = await next_memory_event(stream)
            assert (event["change"], event["memory"]["id"]) == ("created", mine["id"])
            assert "body" not in event["memory"]
            assert event["memory"]["title"] == "t"
        assert (await next_memory_event(o2))["memory"]["id"] == last


async def test_agent_scope_events_stay_with_their_agent(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    async with (
        open_stream(client, headers=callers["A"]) as a,
        open_stream(client, headers=callers["B"]) as b,
        open_stream(client, headers=callers["O2"]) as o2,
    ):
        mine = await created(client, callers["A"], scope="agent", scopeKey="a1")
        theirs = await created(client, callers["B"], scope="agent", scopeKey="a2")
        last = await sentinel(client)
        assert (await next_memory_event(a))["memory"]["id"] == mine["id"]
        assert (await next_memory_event(b))["memory"]["id"] == theirs["id"]
        # O2 acts for a2 only: a1's agent-scope memory is not its to see.
        assert (await next_memory_event(o2))["memory"]["id"] == theirs["id"]
        assert (await next_memory_event(o2))["memory"]["id"] == last


async def test_a_secret_never_carries_its_title(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    async with (
        open_stream(client, headers=callers["O2"]) as o2,
        open_stream(client, headers=callers["op"]) as op,
    ):
        secret = await created(
            client,
            callers["A"],
            scope="repo",
            scopeKey="/srv/one",
            sensitivity="secret",
            title="launch codes",
        )
        for stream in (o2, op):
            event = (await next_memory_event(stream))["memory"]
            assert event["id"] == secret["id"]
            assert (event["title"], event["withheld"]) == (None, True)
            assert "body" not in event


async def test_a_quarantined_memory_leaves_the_non_operators_streams(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    memory = await created(client, callers["A"], scope="repo", scopeKey="/srv/one")
    async with (
        open_stream(client, headers=callers["O1"]) as o1,
        open_stream(client, headers=callers["op"]) as op,
    ):
        assert (await patch(client, memory["id"], "*", redactionState="blocked")).status_code == 200
        last = await sentinel(client)
        blocked = await next_memory_event(op)
        assert (blocked["change"], blocked["memory"]["redactionState"]) == ("updated", "blocked")
        assert (await next_memory_event(o1))["memory"]["id"] == last


async def test_a_caller_acting_for_no_agent_gets_no_memory_event(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    async with open_stream(client, headers=callers["N"]) as nobody:
        await sentinel(client)
        await client.post("/api/activity", json={"title": "after"}, headers=H)
        frame = await nobody.next_event()
        assert (frame.event, frame.data["title"]) == ("activity", "after")


async def test_replay_is_filtered_the_same_way(
    client: Any, callers: dict[str, dict[str, str]]
) -> None:
    private = await created(
        client, callers["A"], scope="repo", scopeKey="/srv/one", visibility="private"
    )
    shared = await created(client, callers["A"], scope="repo", scopeKey="/srv/one")
    async with (
        open_stream(client, {"lastEventId": "0", "view": "memory"}, callers["O2"]) as o2,
        open_stream(client, {"lastEventId": "0", "view": "memory"}, callers["O1"]) as o1,
    ):
        assert (await next_memory_event(o1))["memory"]["id"] == private["id"]
        assert (await next_memory_event(o1))["memory"]["id"] == shared["id"]
        assert (await next_memory_event(o2))["memory"]["id"] == shared["id"]


def test_an_event_stored_without_the_memory_shape_reaches_operators_only() -> None:
    from relay.actors.memory.events import MemoryEvents
    from relay.actors.runtime.directory import AgentDirectory, AgentFacts
    from relay.auth.access import Principal
    from relay.domain.memory import Viewer

    notice = StreamEvent(
        1, "memory", {"change": "created", "memory": {"id": "m"}}, "memory", None, 0
    )
    other = StreamEvent(2, "activity", {"title": "x"}, None, None, 0)
    directory = AgentDirectory()
    directory.record("a1", AgentFacts(orchestrator_id=None, runner_managed=False, cwd=None))
    caller = Principal(sub="a1", role="agent", scope=frozenset(), constraints={"agents": ["a1"]})

    def guard(viewer: Viewer) -> Any:
        return MemoryEvents.for_viewer(caller, viewer, directory)

    agent_view = guard(Viewer(operator=False, agents=frozenset({"a1"})))
    assert not agent_view.admits(notice)
    assert agent_view.admits(other)
    assert guard(Viewer(operator=True)) is None  # no guard: every event passes
    acting_for_none = guard(Viewer(operator=False))
    assert not acting_for_none.admits(notice)
    assert acting_for_none.admits(other)
