"""A token naming orchestrator o1 but limited to a path below o1's stored baseDir
(``{orchestrators: [o1], cwd: ["/srv/o1/x"]}``: an operator or an integration narrowed to
one path on that host, whatever its role) is not o1 (``orchestrator_auth.is_target``). It
neither takes o1's queue (the spawns, restarts and merges of sessions working anywhere
under /srv/o1, with their runner tokens, handed out unredacted and marked delivered) over
the long-poll or the channel, nor its agents' queues, nor reports on o1's commands, nor
heartbeats, reports or re-mints for o1, nor re-registers o1 with its own path as baseDir.
o1's runtime token (``cwd: [/srv/o1]``), a token limited to a path above the baseDir and
one not limited by path still are o1."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from quart.testing.connections import WebsocketResponseError

from relay.actors.tokens.runner_tokens import mint_runner_token
from relay.auth.profiles import ORCHESTRATOR
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, create_command, patch_command, poll, register_orchestrator
from tests.http.sse_client import open_stream, post_activity

# The orchestrator profile's scopes: command:read|write, agent:write (the heartbeat) and
# activity:read (the event stream).
SCOPES = list(ORCHESTRATOR.scope)
NARROW = {"orchestrators": ["o1"], "cwd": ["/srv/o1/x"]}
ROLES = ("dashboard", "integration", "orchestrator")
# Those that are o1: its runtime token (minted by the registration), a path above it, none.
THE_ORCHESTRATOR = ("runtime", "above", "unlimited")
OTHER_CONSTRAINTS = {
    "above": {"orchestrators": ["o1"], "cwd": ["/srv"]},
    "unlimited": {"orchestrators": ["o1"]},
}


async def _o1(client: Any) -> dict[str, str]:
    """o1, based at /srv/o1: the headers of its runtime token."""
    return bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])


def _narrow(mint: Any, role: str = "dashboard") -> dict[str, str]:
    return bearer(mint(SCOPES, NARROW, sub=f"{role}-x", role=role))


async def _the_orchestrator(client: Any, mint: Any, who: str) -> dict[str, str]:
    runtime = await _o1(client)
    if who == "runtime":
        return runtime
    return bearer(mint(SCOPES, OTHER_CONSTRAINTS[who], sub=f"{who}-o1", role="orchestrator"))


async def _spawn_in_y(client: Any) -> str:
    """A session spawned on o1 in /srv/o1/y, outside the narrow token's path: its command."""
    response = await client.post(
        "/api/orchestrators/o1/spawn", json={"provider": "codex", "cwd": "/srv/o1/y"}, headers=H
    )
    assert response.status_code == 202, await response.get_data()
    command_id: str = (await response.get_json())["command"]["id"]
    return command_id


async def _channel_status(client: Any, headers: dict[str, str]) -> int | None:
    """The HTTP status refusing ``WS /api/orchestrators/o1/channel``, None if it opened."""
    refusals: list[WebsocketResponseError] = []
    try:
        async with client.websocket("/api/orchestrators/o1/channel", headers=headers) as ws:
            with trio.fail_after(5):
                json.loads(await ws.receive())
    except* WebsocketResponseError as group:
        refusals = [e for e in group.exceptions if isinstance(e, WebsocketResponseError)]
    if not refusals:
        return None
    status: int = refusals[0].response.status_code
    return status


@pytest.mark.parametrize("role", ROLES)
async def test_a_token_limited_below_the_base_dir_does_not_take_the_queue(
    client: Any, mint: Any, role: str
) -> None:
    runtime = await _o1(client)
    spawn = await _spawn_in_y(client)
    narrow = _narrow(mint, role)
    response = await client.get("/api/orchestrators/o1/commands?wait=0", headers=narrow)
    if response.status_code == 200:
        taken = [c["params"].get("runnerToken") for c in await response.get_json()]
        assert not any(taken), "a token limited to /srv/o1/x took the /srv/o1/y spawn"
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}
    # Left for the daemon, whole.
    [command] = await poll(client, "o1", headers=runtime)
    assert command["id"] == spawn
    assert command["params"]["runnerToken"] != "[redacted]"


async def test_a_token_limited_below_the_base_dir_opens_no_channel(client: Any, mint: Any) -> None:
    runtime = await _o1(client)
    await _spawn_in_y(client)
    assert await _channel_status(client, _narrow(mint)) == 403
    [command] = await poll(client, "o1", headers=runtime)
    assert command["type"] == "agent.spawn"


async def test_a_token_limited_below_the_base_dir_takes_no_queue_of_o1s_agents(
    client: Any, mint: Any
) -> None:
    """An agent's queue is its own and its orchestrator's to take: not a path's below."""
    runtime = await _o1(client)
    response = await client.post(
        "/api/agents",
        json={"id": "a9", "orchestratorId": "o1", "meta": {"cwd": "/srv/o1/y"}},
        headers=H,
    )
    assert response.status_code == 201, await response.get_data()
    queued = await create_command(client, "a9", "agent.compact")
    response = await client.get("/api/agents/a9/commands?wait=0", headers=_narrow(mint))
    assert response.status_code == 403
    response = await client.get("/api/agents/a9/commands?wait=0", headers=runtime)
    assert response.status_code == 200
    assert [c["id"] for c in await response.get_json()] == [queued["id"]]


async def test_a_token_limited_below_the_base_dir_does_not_report_on_o1s_commands(
    client: Any, mint: Any
) -> None:
    """Progress and outcomes come from the target only: the narrow token settles none."""
    runtime = await _o1(client)
    command = await create_command(client, "o1")
    [taken] = await poll(client, "o1", headers=runtime)
    assert taken["id"] == command["id"]
    narrow = _narrow(mint)
    for status in ("running", "succeeded", "failed"):
        response = await patch_command(client, command["id"], status, headers=narrow)
        assert response.status_code == 403, status
    stored = await (await client.get(f"/api/commands/{command['id']}", headers=H)).get_json()
    assert stored["status"] == "delivered"
    response = await patch_command(client, command["id"], "succeeded", headers=runtime)
    assert response.status_code == 200


async def test_a_token_limited_below_the_base_dir_does_not_report_for_o1(
    client: Any, mint: Any, services: Services
) -> None:
    """No heartbeat, no managed-sessions report, no re-mint of o1's runners' tokens."""
    runtime = await _o1(client)
    narrow = _narrow(mint)
    runner, _ = await mint_runner_token(
        services.auth,
        services.runtime,
        orchestrator_id="o1",
        spawn_request_id="sp_1",
        agent_id="agent-sp_1",
    )
    reports: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("/api/orchestrators/o1/heartbeat", "post", {}),
        ("/api/orchestrators/o1/agents", "patch", {"managedAgents": []}),
        ("/api/orchestrators/o1/runner-token", "post", {"token": runner}),
    )
    for path, method, body in reports:
        response = await getattr(client, method)(path, json=body, headers=narrow)
        assert response.status_code == 403, path
    for path, method, body in reports:
        response = await getattr(client, method)(path, json=body, headers=runtime)
        assert response.status_code in (200, 201), path


async def test_a_token_limited_below_the_base_dir_does_not_re_register_o1_as_its_path(
    client: Any, mint: Any
) -> None:
    """Re-registered with its own path as baseDir, o1 would be the narrow token's from then
    on (and the runtime token handed back, {o1, cwd: /srv/o1/x}, too)."""
    await _o1(client)
    response = await client.post(
        "/api/orchestrators",
        json={"id": "o1", "baseDir": "/srv/o1/x"},
        headers=_narrow(mint, "orchestrator"),
    )
    assert response.status_code == 403
    stored = await (await client.get("/api/orchestrators/o1", headers=H)).get_json()
    assert stored["baseDir"] == "/srv/o1"


async def test_a_token_limited_below_the_base_dir_reads_o1s_commands_by_their_params(
    client: Any, mint: Any
) -> None:
    """Not o1, it reads a command of o1 only if it covers what the params name, in the list,
    by id and on the event stream: a merge in /srv/o1/x, not the /srv/o1/y spawn."""
    await _o1(client)
    narrow = _narrow(mint)
    params = {"workspaceId": "wx", "repoRoot": "/srv/o1/x", "worktreePath": "/srv/o1/x/wt"}
    async with open_stream(client, headers=narrow) as stream:
        spawn = await _spawn_in_y(client)
        merge = (await create_command(client, "o1", "workspace.merge", params=params))["id"]
        await post_activity(client, "end", orchestratorId="o1")
        streamed: list[str] = []
        frame = await stream.next_event()
        while frame.event != "activity" or frame.data["title"] != "end":
            if frame.event == "command":
                streamed.append(frame.data["command"]["id"])
            frame = await stream.next_event()
    assert streamed == [merge]
    listed = await (await client.get("/api/commands", headers=narrow)).get_json()
    assert [c["id"] for c in listed] == [merge]
    assert (await client.get(f"/api/commands/{spawn}", headers=narrow)).status_code == 403
    assert (await client.get(f"/api/commands/{merge}", headers=narrow)).status_code == 200


@pytest.mark.parametrize("who", THE_ORCHESTRATOR)
async def test_the_orchestrator_still_takes_reports_and_reads(
    client: Any, mint: Any, who: str
) -> None:
    """Its runtime token, a token limited to a path above its baseDir, and one not limited
    by path are o1: they take its queue (long-poll and channel), report on its commands,
    heartbeat, and read the /srv/o1/y spawn."""
    headers = await _the_orchestrator(client, mint, who)
    spawn = await _spawn_in_y(client)
    assert (await client.get(f"/api/commands/{spawn}", headers=headers)).status_code == 200
    [command] = await poll(client, "o1", headers=headers)
    assert command["params"]["runnerToken"] != "[redacted]"
    response = await patch_command(client, spawn, "running", headers=headers)
    assert response.status_code == 200
    heartbeat = await client.post("/api/orchestrators/o1/heartbeat", json={}, headers=headers)
    assert heartbeat.status_code == 200
    pushed = await create_command(client, "o1")
    async with client.websocket("/api/orchestrators/o1/channel", headers=headers) as ws:
        with trio.fail_after(5):
            message = json.loads(await ws.receive())
            assert message["command"]["id"] == pushed["id"]
            await ws.send(
                json.dumps({"type": "status", "commandId": pushed["id"], "status": "succeeded"})
            )
            reply = json.loads(await ws.receive())
    assert reply == {"type": "status-ok", "commandId": pushed["id"], "status": "succeeded"}


async def test_a_moved_base_dir_is_judged_at_once(client: Any, mint: Any) -> None:
    """The baseDir ``is_target`` judges is kept in memory: a re-registration moving o1 to
    /srv/o1/x makes the narrow token o1 at once, and moving it back undoes that (a value
    read before the move never stands in for the stored one)."""
    await _o1(client)
    narrow = _narrow(mint, "orchestrator")
    heartbeat = "/api/orchestrators/o1/heartbeat"
    assert (await client.post(heartbeat, headers=narrow)).status_code == 403
    for base_dir, status in (("/srv/o1/x", 200), ("/srv/o1", 403)):
        moved = await client.post(
            "/api/orchestrators", json={"id": "o1", "baseDir": base_dir}, headers=H
        )
        assert moved.status_code == 200
        assert (await client.post(heartbeat, headers=narrow)).status_code == status, base_dir
