"""Who may read the event stream: tokens, stream tickets, constraints, and what gets logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from relay.auth.access import Principal
from relay.clock import ManualClock
from relay.errors import Unauthorized
from relay.http.services import Services
from relay.http.stream_tickets import MAX_OPEN, MAX_PER_HOLDER, TicketBook
from tests.conftest import bearer, root_headers
from tests.http.helpers import create_command, register_orchestrator
from tests.http.sse_client import Frame, open_stream, post_activity

H = root_headers()


async def issue_ticket(client: Any, headers: dict[str, str] = H) -> dict[str, Any]:
    response = await client.post("/api/events/ticket", headers=headers)
    assert response.status_code == 201, await response.get_data()
    body: dict[str, Any] = await response.get_json()
    return body


async def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401
    assert await response.get_json() == {"error": "unauthorized"}


async def test_stream_without_credentials_is_401(client: Any) -> None:
    await assert_unauthorized(await client.get("/api/events"))


async def test_stream_needs_activity_read(client: Any, mint: Any) -> None:
    response = await client.get("/api/events", headers=bearer(mint(["agent:read"])))
    assert response.status_code == 403


async def test_ticket_expires_sixty_seconds_after_issue(client: Any, clock: ManualClock) -> None:
    body = await issue_ticket(client)
    assert body["expiresAt"] == clock.now_ms() + 60_000
    assert len(body["ticket"]) >= 32


async def test_ticket_opens_the_stream_without_a_header(client: Any) -> None:
    ticket = (await issue_ticket(client))["ticket"]
    async with open_stream(client, {"ticket": ticket}, headers={}) as stream:
        await post_activity(client, "hello")
        frame = await stream.next_event()
    assert frame.data["title"] == "hello"


async def test_ticket_is_single_use(client: Any) -> None:
    ticket = (await issue_ticket(client))["ticket"]
    async with open_stream(client, {"ticket": ticket}, headers={}):
        pass
    await assert_unauthorized(await client.get("/api/events", query_string={"ticket": ticket}))


async def test_expired_ticket_is_401(client: Any, clock: ManualClock) -> None:
    ticket = (await issue_ticket(client))["ticket"]
    clock.advance(60)
    await assert_unauthorized(await client.get("/api/events", query_string={"ticket": ticket}))


async def test_ticket_just_before_expiry_is_accepted(client: Any, clock: ManualClock) -> None:
    ticket = (await issue_ticket(client))["ticket"]
    clock.advance(59.999)
    async with open_stream(client, {"ticket": ticket}, headers={}) as stream:
        assert stream.connection.status_code == 200


async def test_unknown_ticket_is_401(client: Any) -> None:
    response = await client.get("/api/events", query_string={"ticket": "not-a-ticket"})
    await assert_unauthorized(response)


async def test_ticket_needs_activity_read(client: Any, mint: Any) -> None:
    response = await client.post("/api/events/ticket", headers=bearer(mint(["agent:read"])))
    assert response.status_code == 403


async def test_ticket_without_credentials_is_401(client: Any) -> None:
    await assert_unauthorized(await client.post("/api/events/ticket"))


async def test_ticket_of_a_revoked_token_is_401(client: Any, mint: Any, services: Services) -> None:
    token = mint(["activity:read"])
    ticket = (await issue_ticket(client, bearer(token)))["ticket"]
    services.auth.revoke(services.auth.verify(token).jti)
    await assert_unauthorized(await client.get("/api/events", query_string={"ticket": ticket}))


async def test_ticket_keeps_the_callers_constraints(client: Any, mint: Any) -> None:
    token = mint(["activity:read"], {"agents": ["a1"]})
    ticket = (await issue_ticket(client, bearer(token)))["ticket"]
    async with open_stream(client, {"ticket": ticket}, headers={}) as stream:
        await post_activity(client, "not mine", agentId="a2")
        await post_activity(client, "mine", agentId="a1")
        frame = await stream.next_event()
    assert frame.data["title"] == "mine"


async def test_one_token_asking_for_many_tickets_spends_only_its_own(
    client: Any, mint: Any
) -> None:
    """A holder of ``activity:read`` that asks for ticket after ticket must not push out
    the one another user was issued and has not redeemed yet; past its quota, its own
    oldest ticket goes."""
    theirs = (await issue_ticket(client))["ticket"]
    flood = bearer(mint(["activity:read"]))
    first = (await issue_ticket(client, flood))["ticket"]
    for _ in range(MAX_PER_HOLDER):
        await issue_ticket(client, flood)
    await assert_unauthorized(await client.get("/api/events", query_string={"ticket": first}))
    async with open_stream(client, {"ticket": theirs}, headers={}) as stream:
        await post_activity(client, "still open")
        frame = await stream.next_event()
    assert frame.data["title"] == "still open"


async def test_the_book_backstop_still_bounds_all_holders(clock: ManualClock) -> None:
    book = TicketBook(clock, ttl_seconds=60)
    tokens = [Principal.root()] + [
        Principal(sub=f"u{i}", role="operator", scope=frozenset(), constraints={}, jti=f"j{i}")
        for i in range(400)
    ]
    issued = [book.issue(p)[0] for p in tokens for _ in range(MAX_PER_HOLDER)]
    assert len(issued) > MAX_OPEN
    with pytest.raises(Unauthorized):
        book.redeem(issued[0])
    assert book.redeem(issued[-1]).sub == "u399"


async def test_agent_constrained_token_sees_only_its_agents(client: Any, mint: Any) -> None:
    headers = bearer(mint(["activity:read"], {"agents": ["a1"]}))
    async with open_stream(client, headers=headers) as stream:
        await post_activity(client, "other agent", agentId="a2")
        await post_activity(client, "no agent")
        await post_activity(client, "mine", agentId="a1")
        frame = await stream.next_event()
    assert frame.data["title"] == "mine"


async def test_agent_constrained_replay_sees_only_its_agents(client: Any, mint: Any) -> None:
    async with open_stream(client) as stream:
        await post_activity(client, "start")
        start = await stream.next_event()
    await post_activity(client, "other agent", agentId="a2")
    await post_activity(client, "mine", agentId="a1")
    token = mint(["activity:read"], {"agents": ["a1"]})
    headers = {**bearer(token), "Last-Event-ID": str(start.id)}
    async with open_stream(client, headers=headers) as stream:
        frame = await stream.next_event()
    assert frame.data["title"] == "mine"


async def test_constrained_token_cannot_follow_another_agent(client: Any, mint: Any) -> None:
    headers = bearer(mint(["activity:read"], {"agents": ["a1"]}))
    response = await client.get("/api/events", query_string={"agentId": "a2"}, headers=headers)
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}


async def test_access_log_has_the_path_without_the_ticket(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="relay.access")
    ticket = (await issue_ticket(client))["ticket"]
    async with open_stream(client, {"ticket": ticket, "view": "ops"}, headers={}):
        pass
    await client.get("/api/events", query_string={"ticket": ticket})
    lines = [r.getMessage() for r in caplog.records if r.name == "relay.access"]
    stream_lines = [line for line in lines if "path=/api/events " in line]
    assert len(stream_lines) == 2
    assert all(ticket not in line and "?" not in line for line in lines)


async def test_an_orchestrator_token_streams_only_what_its_constraints_cover(
    client: Any, mint: Any
) -> None:
    """o1's runtime token (orchestrators [o1], cwd [/srv/o1]) is not streamed o2's agents,
    commands, workspaces and leases, which the lists of those resources withhold from it,
    live or replayed; its own pass."""
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    token = bearer(o1["token"])
    async with open_stream(client) as stream:
        await post_activity(client, "start")
        start = await stream.next_event()

    async def others_and_mine() -> None:
        await client.post("/api/agents", json={"id": "a2", "orchestratorId": "o2"}, headers=H)
        await create_command(client, "o2")
        # o1 records its worktrees under its id; a record naming no host, within its
        # paths or not, is on no host it names (``workspace_resources``).
        for ws_id, base, host in (
            ("w2", "/srv/o2", "o2"),
            ("w3", "/srv/o2", None),
            ("w0", "/srv/o1", None),
            ("w1", "/srv/o1", "o1"),
        ):
            body = {"id": ws_id, "repoRoot": f"{base}/repo", "worktreePath": f"{base}/{ws_id}"}
            if host is not None:
                body["orchestratorId"] = host
            response = await client.post("/api/workspaces", json=body, headers=H)
            assert response.status_code == 201
        await post_activity(client, "end")

    async with open_stream(client, headers=token) as stream:
        await others_and_mine()
        live: list[Frame] = []
        while not live or live[-1].data.get("title") != "end":
            live.append(await stream.next_event())
    # (Audit rows, ``activity`` events, are judged by the agent they name only.)
    carried = [(f.event, f.data.get("workspace", {}).get("id")) for f in live]
    assert [each for each in carried if each[0] != "activity"] == [("workspace", "w1")]
    headers = {**token, "Last-Event-ID": str(start.id)}
    async with open_stream(client, headers=headers) as stream:
        replayed = [await stream.next_event() for _ in range(len(live))]
    assert [f.id for f in replayed] == [f.id for f in live]
    response = await client.get("/api/events", query_string={"agentId": "a2"}, headers=token)
    assert response.status_code == 403


async def test_an_orchestrator_token_is_not_streamed_other_orchestrators_agents_commands(
    client: Any,
) -> None:
    """A command to an agent is judged, as ``visible_commands`` judges it in the list, on
    the orchestrator that agent is stored under as well: o1's runtime token is not streamed
    a command to o2's agent a2 (its params included), and is streamed one to its own a1."""
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    token = bearer(o1["token"])
    for agent_id, orchestrator_id in (("a1", "o1"), ("a2", "o2")):
        response = await client.post(
            "/api/agents", json={"id": agent_id, "orchestratorId": orchestrator_id}, headers=H
        )
        assert response.status_code == 201
    async with open_stream(client, headers=token) as stream:
        for target in ("a2", "a1"):
            response = await client.post(
                "/api/commands",
                json={"type": "agent.compact", "target": target, "params": {"k": target}},
                headers=H,
            )
            assert response.status_code == 201
        await post_activity(client, "end")
        live: list[Frame] = []
        while not live or live[-1].data.get("title") != "end":
            live.append(await stream.next_event())
    streamed = [f.data["command"]["target"] for f in live if f.event == "command"]
    listed = await (await client.get("/api/commands", headers=token)).get_json()
    assert streamed == [c["target"] for c in listed] == ["a1"]
