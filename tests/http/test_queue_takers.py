"""Who takes an orchestrator's or an agent's command queue, and what it is handed: a spawn
or restart carries the new session's runner token, with the provider-agent scopes.

Only an ``orchestrator``-role token is an orchestrator (``is_target``): an operator's
dashboard limited to o1 steers o1 but does not take its queue. Any other caller that may
take a queue (an unconstrained tool holding ``command:read``) is handed secrets redacted
(``receives_runner_tokens``). And a channel's right to its queue is judged again after every
take, as each long-poll's is, so an agent moved away is not worked by its old host."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from quart.testing.connections import WebsocketDisconnectError

from relay.auth.profiles import ORCHESTRATOR
from relay.domain.commands import REDACTED
from tests.conftest import bearer
from tests.http.helpers import H, create_command, poll, register_orchestrator, websocket_refusals

STEERING = ["agent:read", "agent:write", "command:read", "command:write"]
PROMPTLY = 1.0


async def spawn_on_o1(client: Any) -> str:
    """o1 online at /srv/o1 and a spawn queued for it by root: the spawn command's id."""
    await register_orchestrator(client, "o1", "/srv/o1")
    response = await client.post(
        "/api/orchestrators/o1/spawn", json={"provider": "codex", "cwd": "/srv/o1/y"}, headers=H
    )
    assert response.status_code == 202, await response.get_data()
    command_id: str = (await response.get_json())["command"]["id"]
    return command_id


def runner_token_of(commands: list[dict[str, Any]], command_id: str) -> str:
    (command,) = [command for command in commands if command["id"] == command_id]
    token: str = command["params"]["runnerToken"]
    return token


async def test_a_dashboard_limited_to_o1_is_not_o1(client: Any, mint: Any) -> None:
    """It holds every scope a host's queue needs and names o1 alone, yet it is an operator:
    o1's queue, channel, heartbeat and registration are refused it, and the spawn's runner
    token is still handed whole to o1's own runtime token."""
    command_id = await spawn_on_o1(client)
    ops = bearer(mint(STEERING, {"orchestrators": ["o1"]}, sub="ops-o1", role="dashboard"))
    response = await client.get("/api/orchestrators/o1/commands", headers=ops)
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}
    channel = "/api/orchestrators/o1/channel"
    refused = await websocket_refusals(client, channel, ops)
    assert [response.status_code for response in refused] == [403]
    heartbeat = await client.post("/api/orchestrators/o1/heartbeat", headers=ops)
    assert heartbeat.status_code == 403
    registration = {"id": "o1", "baseDir": "/srv/o1"}
    response = await client.post("/api/orchestrators", json=registration, headers=ops)
    assert response.status_code == 403
    # Nothing was taken: o1's runtime token (re-issued by root's registration) gets it whole.
    runtime = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    token = runner_token_of(await poll(client, headers=runtime), command_id)
    assert token.count(".") == 2


@pytest.mark.parametrize("role", ["dashboard", "integration", "provider"])
async def test_an_unconstrained_tool_taking_a_queue_is_handed_no_runner_token(
    client: Any, mint: Any, role: str
) -> None:
    """Unconstrained, ``command:read`` takes any queue; the runner token in it is redacted
    for every role but the orchestrator's, and stays whole for its redelivery."""
    command_id = await spawn_on_o1(client)
    tool = bearer(mint(["command:read"], sub=f"{role}-tool", role=role))
    assert runner_token_of(await poll(client, headers=tool), command_id) == REDACTED
    stored = await (await client.get(f"/api/commands/{command_id}", headers=H)).get_json()
    assert stored["params"]["runnerToken"] == REDACTED  # as every read shows it


async def test_an_orchestrator_role_token_is_handed_the_runner_token(
    client: Any, mint: Any
) -> None:
    """The daemon's own kind of credential, unconstrained or limited to o1, takes the
    spawn whole: it starts the session with that token."""
    command_id = await spawn_on_o1(client)
    daemon = bearer(mint(["command:read"], {"orchestrators": ["o1"]}, role="orchestrator"))
    token = runner_token_of(await poll(client, headers=daemon), command_id)
    assert token != REDACTED
    assert token.count(".") == 2


async def a1_of_o1(client: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    response = await client.post(
        "/api/agents", json={"id": "a1", "orchestratorId": "o1"}, headers=H
    )
    assert response.status_code == 201


async def until_closed(ws: Any) -> tuple[list[Any], int]:
    """What the channel sends until it closes, and its close code."""
    received = []
    while True:
        try:
            received.append(json.loads(await ws.receive()))
        except WebsocketDisconnectError as closed:
            code: int = closed.args[0]
            return received, code


async def moved_to_o2(client: Any) -> None:
    """a1, registered under o1, re-registered by root under o2."""
    await register_orchestrator(client, "o2", "/srv/o2")
    moved = await client.post("/api/agents", json={"id": "a1", "orchestratorId": "o2"}, headers=H)
    assert moved.status_code in (200, 201), await moved.get_data()


async def test_an_agent_channel_closes_when_its_agent_moves_to_a_host_the_token_misses(
    client: Any, mint: Any
) -> None:
    """o1's token works a1's channel while a1 is o1's; once a1 is o2's, the command queued
    for it is not sent down that channel (it closes with 4403), and a long-poll is refused
    as it was before."""
    await a1_of_o1(client)
    o1 = bearer(mint(["command:read"], {"orchestrators": ["o1"]}, role="orchestrator"))
    async with client.websocket("/api/agents/a1/channel", headers=o1) as ws:
        first = await create_command(client, target="a1")
        with trio.fail_after(PROMPTLY):
            sent = json.loads(await ws.receive())
        assert (sent["type"], sent["command"]["id"]) == ("command", first["id"])
        await moved_to_o2(client)
        second = await create_command(client, target="a1")
        with trio.fail_after(PROMPTLY):
            received, code = await until_closed(ws)
        assert code == 4403
        assert received == []
    response = await client.get("/api/agents/a1/commands", headers=o1)
    assert response.status_code == 403
    # Left delivered and unacknowledged, it is redelivered to the one who takes a1's queue.
    command = await (await client.get(f"/api/commands/{second['id']}", headers=H)).get_json()
    assert command["status"] == "delivered"


async def test_a_long_poll_that_outlives_its_agents_move_is_refused(client: Any, mint: Any) -> None:
    """A long-poll authorized while a1 was o1's is judged again when its wait ends: the
    command queued for a1 after the move to o2 is not handed to o1's token."""
    await a1_of_o1(client)
    o1 = bearer(mint(["command:read"], {"orchestrators": ["o1"]}, role="orchestrator"))
    replies: list[Any] = []

    async def long_poll() -> None:
        replies.append(await client.get("/api/agents/a1/commands?wait=30", headers=o1))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(long_poll)
        await trio.testing.wait_all_tasks_blocked()
        await moved_to_o2(client)
        await create_command(client, target="a1")
    (reply,) = replies
    assert reply.status_code == 403
    assert await reply.get_json() == {"error": "forbidden"}


GRANTORS = pytest.mark.parametrize(
    ("grantor_role", "grantor_constraints"),
    [("integration", {}), ("dashboard", {"orchestrators": ["o1"]})],
    ids=["unconstrained-tool", "dashboard-of-o1"],
)
HOST_TOKEN = {"sub": "ops:host", "role": "orchestrator", "constraints": {"orchestrators": ["o1"]}}


async def refused_host_token(client: Any, grantor: dict[str, str], scope: list[str]) -> None:
    """The grantor asks for an o1 host token with ``scope``: 403, and nothing is issued."""
    response = await client.post(
        "/api/tokens", json={**HOST_TOKEN, "scope": scope}, headers=grantor
    )
    assert response.status_code == 403
    error = (await response.get_json())["error"]
    assert error.startswith("cannot grant role orchestrator: a host's token reaches ")
    assert error.endswith(", which the caller lacks")
    records = await (await client.get("/api/tokens", headers=H)).get_json()
    assert [r for r in records if r["sub"] == "ops:host"] == []


@GRANTORS
async def test_no_grantor_lacking_the_runner_scopes_mints_itself_a_host(
    client: Any, mint: Any, grantor_role: str, grantor_constraints: dict[str, list[str]]
) -> None:
    """The orchestrator role is what hands a token o1's runner tokens: a grantor with
    ``token:admin`` and ``command:read`` alone may not issue it (found by review), so it
    does not get the provider-agent scopes it lacks by minting itself o1. Nothing is
    issued; a grantor holding the host profile's scopes (and root) may."""
    await spawn_on_o1(client)
    scopes = ["token:admin", "command:read"]
    grantor = bearer(mint(scopes, grantor_constraints, sub="ops", role=grantor_role))
    await refused_host_token(client, grantor, ["command:read"])
    held = [*ORCHESTRATOR.scope, "token:admin"]
    holder = bearer(mint(held, grantor_constraints, sub="ops", role=grantor_role))
    body = {**HOST_TOKEN, "scope": ["command:read"]}
    response = await client.post("/api/tokens", json=body, headers=holder)
    assert response.status_code == 201, await response.get_data()


@GRANTORS
async def test_no_grantor_lacking_the_host_scopes_registers_a_host_through_the_role(
    client: Any, mint: Any, grantor_role: str, grantor_constraints: dict[str, list[str]]
) -> None:
    """Registering a host takes the orchestrator profile's scopes of any caller but a host's
    own token: a grantor holding ``agent:write`` but no command scope, refused as itself,
    may not mint itself a host token without command scopes either and re-register o1 at
    ``/``, which would lock o1's daemon out and hand o1 to every path limit (found by
    review). o1 stays where it was, and its daemon still takes its queue."""
    daemon = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    scopes = ["token:admin", "agent:read", "agent:write"]
    grantor = bearer(mint(scopes, grantor_constraints, sub="ops", role=grantor_role))
    hijack = {"id": "o1", "baseDir": "/"}
    response = await client.post("/api/orchestrators", json=hijack, headers=grantor)
    assert response.status_code == 403
    await refused_host_token(client, grantor, ["agent:read", "agent:write"])
    card = await (await client.get("/api/orchestrators/o1", headers=H)).get_json()
    assert card["baseDir"] == "/srv/o1"
    assert (await client.get("/api/orchestrators/o1/commands", headers=daemon)).status_code == 200


@pytest.mark.parametrize("role", ["integration", "dashboard", "provider"])
async def test_only_a_host_re_mints_a_runner_token(client: Any, mint: Any, role: str) -> None:
    """The re-mint hands back a fresh runner token (and revokes the session's): an
    unconstrained tool of another role holding ``command:write`` gets none (found by
    review); root still does."""
    command_id = await spawn_on_o1(client)
    runner = runner_token_of(await poll(client), command_id)
    tool = bearer(mint(["command:write"], sub=f"{role}-tool", role=role))
    path = "/api/orchestrators/o1/runner-token"
    response = await client.post(path, json={"token": runner}, headers=tool)
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}
    response = await client.post(path, json={"token": runner}, headers=H)
    assert response.status_code == 201, await response.get_data()


@pytest.mark.parametrize("taker", ["root", "o1"])
async def test_an_agent_channel_closes_when_its_agent_is_deleted(
    client: Any, mint: Any, monkeypatch: pytest.MonkeyPatch, taker: str
) -> None:
    """A channel whose agent is deleted closes with the refusal's status: 4404 to root
    (before, the take's NotFound escaped the handler and closed it with 1000), 4403 to a
    token that learns no more than that it no longer takes the queue (found by review)."""
    monkeypatch.setattr("relay.http.channels.WS_WAIT_SECONDS", 0.2)
    await a1_of_o1(client)
    headers = (
        H
        if taker == "root"
        else bearer(mint(["command:read"], {"orchestrators": ["o1"]}, role="orchestrator"))
    )
    async with client.websocket("/api/agents/a1/channel", headers=headers) as ws:
        first = await create_command(client, target="a1")
        with trio.fail_after(PROMPTLY):
            sent = json.loads(await ws.receive())
        assert sent["command"]["id"] == first["id"]
        assert (await client.delete("/api/agents/a1", headers=H)).status_code == 200
        with trio.fail_after(PROMPTLY):
            received, code = await until_closed(ws)
    assert received == []
    assert code == (4404 if taker == "root" else 4403)
