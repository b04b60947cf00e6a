"""The command channel: creation, delivery (long-poll, WebSocket), redelivery, expiry,
settling exactly once, and persistence across restarts."""

from __future__ import annotations

import json
from typing import Any

import trio
import trio.lowlevel

from relay.actors.commands.flows import expire_and_redeliver
from relay.clock import ManualClock
from relay.domain.commands import Command
from relay.http.app import create_app
from relay.http.services import EXTENSION, Services
from relay.settings import Settings
from tests.conftest import bearer
from tests.http.helpers import (
    H,
    create_command,
    patch_command,
    poll,
    register_orchestrator,
    websocket_refusals,
)
from tests.http.sse_client import open_stream


async def test_create_command_is_queued_and_listed(client: Any) -> None:
    await register_orchestrator(client)
    command = await create_command(client, params={"x": 1}, correlationId="c-1")
    assert command["status"] == "queued"
    assert command["targetKind"] == "orchestrator"
    assert command["expiresAt"] - command["createdAt"] == 600_000
    got = await (await client.get(f"/api/commands/{command['id']}", headers=H)).get_json()
    assert got["params"] == {"x": 1}
    listing = await (
        await client.get("/api/commands?target=o1&status=queued", headers=H)
    ).get_json()
    assert [c["id"] for c in listing] == [command["id"]]
    assert await (await client.get("/api/commands?status=running", headers=H)).get_json() == []


async def test_command_to_an_orchestrators_agent_id_reaches_the_orchestrator(client: Any) -> None:
    await register_orchestrator(client, agentId="orch-agent-1")
    command = await create_command(client, target="orch-agent-1")
    assert command["target"] == "o1"
    assert [c["id"] for c in await poll(client)] == [command["id"]]


async def test_command_to_an_agent_uses_the_agent_channel(client: Any) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    command = await create_command(client, target="a1")
    assert command["targetKind"] == "agent"
    response = await client.get("/api/agents/a1/commands", headers=H)
    assert [c["id"] for c in await response.get_json()] == [command["id"]]


async def test_create_command_validation(client: Any) -> None:
    cases = [
        ({"target": "o1"}, "type is required"),
        ({"type": "x", "target": "o1", "ttlSeconds": 0}, "ttlSeconds must be at least 1"),
        ({"type": "x", "target": "o1", "ttlSeconds": 86_401}, "ttlSeconds must be at most 86400"),
        ({"type": "x", "target": "o1", "params": []}, "params must be an object"),
    ]
    await register_orchestrator(client)
    for body, message in cases:
        response = await client.post("/api/commands", json=body, headers=H)
        assert response.status_code == 400
        assert await response.get_json() == {"error": message}


async def test_unknown_target_and_command_are_404(client: Any) -> None:
    response = await client.post("/api/commands", json={"type": "x", "target": "nope"}, headers=H)
    assert response.status_code == 404
    assert await response.get_json() == {"error": "target not found"}
    for response in (
        await client.get("/api/commands/cmd_nope", headers=H),
        await patch_command(client, "cmd_nope", "running"),
    ):
        assert response.status_code == 404
        assert await response.get_json() == {"error": "command not found"}


async def test_delivery_marks_delivered_and_counts_attempts(client: Any) -> None:
    await register_orchestrator(client)
    await create_command(client)
    [delivered] = await poll(client)
    assert delivered["status"] == "delivered"
    assert delivered["attempts"] == 1
    # Read back at once, the command is as handed out (its write is queued before any read).
    stored = await (await client.get(f"/api/commands/{delivered['id']}", headers=H)).get_json()
    assert (stored["status"], stored["attempts"]) == ("delivered", 1)
    assert await poll(client) == []  # not handed out twice before the ack timeout


async def test_long_poll_wakes_on_enqueue(client: Any, services: Services) -> None:
    await register_orchestrator(client)
    received: list[Any] = []
    waited: list[float] = []

    async def long_poll() -> None:
        start = trio.current_time()
        received.extend(await poll(client, wait=25))
        waited.append(trio.current_time() - start)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(long_poll)
        with trio.fail_after(5):  # wait until the poll holds the doorbell
            while not services.runtime.doorbells.armed("o1"):
                await trio.lowlevel.checkpoint()
        command = await create_command(client)
    assert [c["id"] for c in received] == [command["id"]]
    # Woken by the enqueue, not by the 25 s deadline.
    assert waited[0] < 5


async def test_long_poll_returns_empty_after_wait(client: Any) -> None:
    await register_orchestrator(client)
    start = trio.current_time()
    assert await poll(client, wait=1) == []
    assert trio.current_time() - start >= 1


async def test_redelivery_after_ack_timeout(client: Any, clock: ManualClock) -> None:
    await register_orchestrator(client)
    command = await create_command(client)
    assert [c["attempts"] for c in await poll(client)] == [1]
    clock.advance(59)
    assert await poll(client) == []
    clock.advance(2)
    [again] = await poll(client)
    assert again["id"] == command["id"]
    assert again["attempts"] == 2


async def test_acknowledged_command_is_not_redelivered(client: Any, clock: ManualClock) -> None:
    await register_orchestrator(client)
    command = await create_command(client)
    await poll(client)
    response = await patch_command(client, command["id"], "running")
    assert (await response.get_json())["command"]["status"] == "running"
    clock.advance(120)
    assert await poll(client) == []


async def test_ttl_expiry(client: Any, clock: ManualClock, services: Services) -> None:
    await register_orchestrator(client)
    command = await create_command(client, ttlSeconds=5)
    clock.advance(6)
    assert await expire_and_redeliver(services.runtime) == {"queues": 1, "expired": 1}
    got = await (await client.get(f"/api/commands/{command['id']}", headers=H)).get_json()
    assert got["status"] == "expired"
    assert await poll(client) == []
    response = await patch_command(client, command["id"], "succeeded")
    assert response.status_code == 409
    assert await response.get_json() == {"error": "command already settled"}


async def test_command_for_offline_orchestrator_waits_for_reconnect(
    client: Any, clock: ManualClock
) -> None:
    await register_orchestrator(client)
    clock.advance(400)  # silent long past offline; the command is queued anyway
    command = await create_command(client, ttlSeconds=3600)
    await client.post("/api/orchestrators/o1/heartbeat", headers=H)
    assert [c["id"] for c in await poll(client)] == [command["id"]]


async def test_illegal_transitions_are_409(client: Any) -> None:
    await register_orchestrator(client)
    command = await create_command(client)
    assert (
        await patch_command(client, command["id"], "succeeded", result={"ok": 1})
    ).status_code == 200
    response = await patch_command(client, command["id"], "failed", error="late")
    assert response.status_code == 409
    assert await response.get_json() == {"error": "command already settled"}
    response = await client.patch(
        f"/api/commands/{command['id']}", json={"status": "queued"}, headers=H
    )
    assert response.status_code == 400
    assert await response.get_json() == {
        "error": "status must be one of running, succeeded, failed, cancelled"
    }


async def test_repeated_settle_is_answered_without_change(client: Any) -> None:
    await register_orchestrator(client)
    command = await create_command(client)
    first = await patch_command(client, command["id"], "succeeded", result={"n": 1})
    again = await patch_command(client, command["id"], "succeeded", result={"n": 2})
    assert (first.status_code, again.status_code) == (200, 200)
    assert (await again.get_json())["command"]["result"] == {"n": 1}


async def test_concurrent_duplicate_settles_run_effects_once(
    client: Any, services: Services
) -> None:
    effects: list[str] = []

    async def effect(_rt: Any, command: Command) -> None:
        effects.append(command.id)

    services.runtime.settle_hooks.register("test.effect", effect)
    await register_orchestrator(client)
    command = await create_command(client, type_="test.effect")
    statuses: list[int] = []

    async def settle() -> None:
        response = await patch_command(client, command["id"], "succeeded", result={"ok": True})
        statuses.append(response.status_code)

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(settle)
    assert statuses == [200] * 20
    assert effects == [command["id"]]


async def test_only_the_target_reports_progress(client: Any, mint: Any) -> None:
    token_a = (await register_orchestrator(client, "oa", "/srv/a"))["token"]
    await register_orchestrator(client, "ob", "/srv/b")
    command_b = await create_command(client, target="ob")
    a = bearer(token_a)
    for status in ("running", "succeeded", "cancelled"):
        response = await patch_command(client, command_b["id"], status, headers=a)
        assert response.status_code == 403
        assert await response.get_json() == {"error": "forbidden"}
    dashboard = bearer(mint(["command:read", "command:write"], sub="dashboard", role="dashboard"))
    response = await patch_command(client, command_b["id"], "succeeded", headers=dashboard)
    assert response.status_code == 403
    response = await patch_command(client, command_b["id"], "cancelled", headers=dashboard)
    assert response.status_code == 200
    assert (await client.get(f"/api/commands/{command_b['id']}", headers=a)).status_code == 403
    assert await (await client.get("/api/commands", headers=a)).get_json() == []


async def test_websocket_delivers_and_takes_status_reports(client: Any) -> None:
    await register_orchestrator(client)
    queued_before = await create_command(client, params={"n": 1})
    async with client.websocket("/api/orchestrators/o1/channel", headers=H) as ws:
        first = json.loads(await ws.receive())
        assert first["type"] == "command"
        assert first["command"]["id"] == queued_before["id"]
        pushed = await create_command(client, params={"n": 2})
        second = json.loads(await ws.receive())
        assert second["command"]["id"] == pushed["id"]
        await ws.send(
            json.dumps({"type": "status", "commandId": pushed["id"], "status": "running"})
        )
        assert json.loads(await ws.receive()) == {
            "type": "status-ok",
            "commandId": pushed["id"],
            "status": "running",
        }
        await ws.send(
            json.dumps(
                {
                    "type": "status",
                    "commandId": pushed["id"],
                    "status": "succeeded",
                    "result": {"ok": 1},
                }
            )
        )
        assert json.loads(await ws.receive())["status"] == "succeeded"
        await ws.send(json.dumps({"type": "status", "commandId": pushed["id"], "status": "failed"}))
        assert json.loads(await ws.receive()) == {
            "type": "error",
            "commandId": pushed["id"],
            "error": "command already settled",
        }
        await ws.send("not json")
        assert json.loads(await ws.receive()) == {"type": "error", "error": "invalid JSON message"}
    got = await (await client.get(f"/api/commands/{pushed['id']}", headers=H)).get_json()
    assert got["status"] == "succeeded"
    assert got["result"] == {"ok": 1}


async def test_restart_keeps_queued_and_unacknowledged_commands(
    settings: Settings, clock: ManualClock
) -> None:
    app = create_app(settings, clock=clock)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await register_orchestrator(client)
        unacked = await create_command(client)
        queued = await create_command(client)
        await client.get("/api/orchestrators/o1/commands?limit=1", headers=H)
    reopened = create_app(settings, clock=clock)
    async with reopened.test_app() as test_app:
        client = test_app.test_client()
        assert [c["id"] for c in await poll(client)] == [queued["id"]]
        clock.advance(61)
        redelivered = await poll(client)
        assert {c["id"] for c in redelivered} == {queued["id"], unacked["id"]}
        assert reopened.extensions[EXTENSION].runtime.registry.is_live("orchestrator", "o1")


async def test_every_step_of_a_command_is_a_stream_event(client: Any) -> None:
    """The dashboard shows an action's progress: queued, delivered, running, then the end."""
    await register_orchestrator(client)
    async with open_stream(client) as stream:
        command = await create_command(client)
        [delivered] = await poll(client)
        response = await client.patch(
            f"/api/commands/{command['id']}", json={"status": "running"}, headers=H
        )
        assert response.status_code == 200, await response.get_data()
        response = await client.patch(
            f"/api/commands/{command['id']}", json={"status": "succeeded"}, headers=H
        )
        assert response.status_code == 200, await response.get_data()
        steps: list[tuple[str, str]] = []
        while len(steps) < 4:
            frame = await stream.next_event()
            if frame.event == "command":
                steps.append((frame.data["change"], frame.data["command"]["status"]))
    assert delivered["id"] == command["id"]
    assert steps == [
        ("created", "queued"),
        ("delivered", "delivered"),
        ("running", "running"),
        ("settled", "succeeded"),
    ]


async def test_only_the_target_takes_its_commands(client: Any, mint: Any) -> None:
    """Taking a target's commands hands them out unredacted (a spawn's runner token) and
    marks them delivered: an agent's token, which no orchestrators constraint excludes from
    o1, neither takes nor sees o1's queue over the long-poll or the channel."""
    o1 = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    response = await client.post(
        "/api/orchestrators/o1/spawn", json={"provider": "codex", "cwd": "/srv/o1/x"}, headers=H
    )
    assert response.status_code == 202
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    agent = bearer(mint(["command:read", "command:write"], {"agents": ["a1"]}, sub="a1"))
    response = await client.get("/api/orchestrators/o1/commands", headers=agent)
    assert response.status_code == 403
    channel = "/api/orchestrators/o1/channel"
    refused = await websocket_refusals(client, channel, agent)
    assert [response.status_code for response in refused] == [403]
    [spawn] = await poll(client, "o1", headers=o1)
    assert spawn["type"] == "agent.spawn"
    # Its own agent's queue it takes.
    assert (await client.get("/api/agents/a1/commands", headers=agent)).status_code == 200


async def test_a_command_is_authorized_on_what_its_params_name(client: Any, mint: Any) -> None:
    """POST /api/commands with a spawn's params is the spawn route without its checks: a
    token limited to cwd /srv/o1/safe (and o1) creates no command that spawns, merges or
    cleans up outside it, nor names an agent, policy or spawn request beyond its own."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await client.post("/api/agents", json={"id": "b1", "orchestratorId": "o1"}, headers=H)
    constraints = {
        "orchestrators": ["o1"],
        "cwd": ["/srv/o1/safe"],
        "policyNames": ["p1"],
        "spawnRequestIds": ["sp_1"],
    }
    limited = bearer(mint(["command:read", "command:write"], constraints))
    spawn = {"provider": "command", "command": ["sh"], "spawnRequestId": "sp_1"}
    for type_, params in (
        ("agent.spawn", {**spawn, "cwd": "/srv/o1/secret"}),
        ("agent.spawn", {**spawn, "cwd": "/srv/o1/safe/../secret"}),
        ("agent.spawn", {**spawn, "cwd": "/srv/o1/safe", "policyName": "p2"}),
        ("agent.spawn", {**spawn, "cwd": "/srv/o1/safe", "spawnRequestId": "sp_2"}),
        ("agent.restart", {"agentId": "b1", "restartSpawn": {**spawn, "cwd": "/srv/o1/x"}}),
        ("workspace.cleanup", {"repoRoot": "/srv/o1/repo", "worktreePath": "/srv/o1/safe/w"}),
        ("workspace.merge", {"repoRoot": "/srv/o1/safe", "worktreePath": "/srv/o1/wt"}),
    ):
        response = await client.post(
            "/api/commands",
            json={"type": type_, "target": "o1", "params": params},
            headers=limited,
        )
        assert response.status_code == 403, (type_, params)
    assert await poll(client, "o1") == []
    within = {**spawn, "cwd": "/srv/o1/safe/sub", "policyName": "p1"}
    # The same token limited to an agent as well steers no host: no command to o1 at all.
    agent_limited = bearer(
        mint(["command:read", "command:write"], {**constraints, "agents": ["a1"]})
    )
    for headers, status in ((agent_limited, 403), (limited, 201)):
        response = await client.post(
            "/api/commands",
            json={"type": "agent.spawn", "target": "o1", "params": within},
            headers=headers,
        )
        assert response.status_code == status
