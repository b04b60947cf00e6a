"""Orchestrator routes: register, heartbeat, managed sessions, spawn, stale reaping."""

from __future__ import annotations

from typing import Any

from relay.actors.orchestrator import reap_orchestrators
from relay.clock import ManualClock
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, poll, register_orchestrator


async def test_register_returns_a_token_constrained_to_the_orchestrator(
    client: Any, services: Services
) -> None:
    reply = await register_orchestrator(client, "o1", "/srv/o1/../o1", name="host-a")
    assert reply["orchestrator"]["baseDir"] == "/srv/o1"
    assert reply["orchestrator"]["status"] == "online"
    assert reply["heartbeatIntervalSeconds"] == 10
    claims = services.auth.verify(reply["token"])
    assert claims.constraints == {"orchestrators": ["o1"], "cwd": ["/srv/o1"]}
    assert claims.role == "orchestrator"


async def test_register_is_idempotent_on_id(client: Any) -> None:
    first = await client.post("/api/orchestrators", json={"id": "o1", "baseDir": "/a"}, headers=H)
    second = await client.post("/api/orchestrators", json={"id": "o1", "baseDir": "/a"}, headers=H)
    assert (first.status_code, second.status_code) == (201, 200)
    listing = await (await client.get("/api/orchestrators", headers=H)).get_json()
    assert [o["id"] for o in listing] == ["o1"]


async def test_heartbeat_reports_managed_sessions(client: Any, clock: ManualClock) -> None:
    await register_orchestrator(client)
    clock.advance(5)
    managed = [{"agentId": "a1", "sessionName": "s1", "provider": "claude", "status": "running"}]
    response = await client.post(
        "/api/orchestrators/o1/heartbeat",
        json={"managedAgents": managed, "runtime": {"version": "1.2"}},
        headers=H,
    )
    assert response.status_code == 200
    body = await response.get_json()
    assert body["managedAgents"] == managed
    assert body["runtime"] == {"version": "1.2"}
    assert body["lastHeartbeatAt"] == clock.now_ms()


async def test_heartbeat_without_body_is_accepted(client: Any) -> None:
    await register_orchestrator(client)
    response = await client.post("/api/orchestrators/o1/heartbeat", headers=H)
    assert response.status_code == 200


async def test_patch_agents_replaces_the_report(client: Any) -> None:
    await register_orchestrator(client)
    response = await client.patch(
        "/api/orchestrators/o1/agents", json={"managedAgents": [{"agentId": "a9"}]}, headers=H
    )
    assert response.status_code == 200
    got = await (await client.get("/api/orchestrators/o1", headers=H)).get_json()
    assert [m["agentId"] for m in got["managedAgents"]] == ["a9"]


async def test_unknown_orchestrator_is_404(client: Any) -> None:
    for response in (
        await client.get("/api/orchestrators/nope", headers=H),
        await client.post("/api/orchestrators/nope/heartbeat", headers=H),
        await client.get("/api/orchestrators/nope/commands", headers=H),
    ):
        assert response.status_code == 404
        assert await response.get_json() == {"error": "orchestrator not found"}


async def test_register_validates_fields(client: Any) -> None:
    response = await client.post("/api/orchestrators", json={"id": "o1"}, headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": "baseDir is required"}


async def test_stale_rule_for_orchestrators(
    client: Any, clock: ManualClock, services: Services
) -> None:
    await register_orchestrator(client)
    clock.advance(31)
    assert [o.status for o in await reap_orchestrators(services.runtime)] == ["stale"]
    clock.advance(300)
    assert [o.status for o in await reap_orchestrators(services.runtime)] == ["offline"]
    assert await reap_orchestrators(services.runtime) == []
    response = await client.post("/api/orchestrators/o1/heartbeat", headers=H)
    assert (await response.get_json())["status"] == "online"


async def test_spawn_queues_an_agent_spawn_command(client: Any) -> None:
    await register_orchestrator(client)
    response = await client.post(
        "/api/orchestrators/o1/spawn",
        json={
            "provider": "claude",
            "cwd": "/srv/o1/repo",
            "model": "opus",
            "providerArgs": ["--verbose"],
            "workspaceMode": "isolated",
        },
        headers=H,
    )
    assert response.status_code == 202
    body = await response.get_json()
    assert body["spawnRequestId"].startswith("sp_")
    command = body["command"]
    assert command["type"] == "agent.spawn"
    assert command["params"]["spawnRequestId"] == body["spawnRequestId"]
    assert command["params"]["cwd"] == "/srv/o1/repo"
    assert [c["id"] for c in await poll(client)] == [command["id"]]


async def test_spawn_on_offline_orchestrator_is_409(
    client: Any, clock: ManualClock, services: Services
) -> None:
    await register_orchestrator(client)
    clock.advance(400)
    await reap_orchestrators(services.runtime)
    response = await client.post(
        "/api/orchestrators/o1/spawn", json={"provider": "claude", "cwd": "/srv/o1"}, headers=H
    )
    assert response.status_code == 409
    assert await response.get_json() == {"error": "orchestrator is not online"}


async def test_spawn_outside_base_dir_is_400(client: Any) -> None:
    await register_orchestrator(client)
    response = await client.post(
        "/api/orchestrators/o1/spawn",
        json={"provider": "claude", "cwd": "/srv/o1/../o2"},
        headers=H,
    )
    assert response.status_code == 400
    assert await response.get_json() == {"error": "cwd must be inside the orchestrator's baseDir"}


async def test_spawn_validates_provider(client: Any) -> None:
    await register_orchestrator(client)
    response = await client.post(
        "/api/orchestrators/o1/spawn", json={"provider": "gpt", "cwd": "/srv/o1"}, headers=H
    )
    assert response.status_code == 400
    assert await response.get_json() == {"error": "provider must be one of claude, codex, command"}


async def test_orchestrator_token_cannot_act_on_another(client: Any) -> None:
    token_a = (await register_orchestrator(client, "oa", "/srv/a"))["token"]
    await register_orchestrator(client, "ob", "/srv/b")
    a = bearer(token_a)
    forbidden = [
        await client.get("/api/orchestrators/ob/commands", headers=a),
        await client.post("/api/orchestrators/ob/heartbeat", headers=a),
        await client.post(
            "/api/orchestrators/ob/spawn", json={"provider": "claude", "cwd": "/srv/b"}, headers=a
        ),
    ]
    for response in forbidden:
        assert response.status_code == 403
        assert await response.get_json() == {"error": "forbidden"}
    listing = await (await client.get("/api/orchestrators", headers=a)).get_json()
    assert [o["id"] for o in listing] == ["oa"]
    assert (await client.get("/api/orchestrators/oa/commands", headers=a)).status_code == 200


async def test_spawn_carries_a_runner_token_only_on_the_channel(
    client: Any, services: Services
) -> None:
    await register_orchestrator(client)
    response = await client.post(
        "/api/orchestrators/o1/spawn", json={"provider": "claude", "cwd": "/srv/o1"}, headers=H
    )
    body = await response.get_json()
    assert body["command"]["params"]["runnerToken"] == "[redacted]"
    listed = await (
        await client.get(f"/api/commands/{body['command']['id']}", headers=H)
    ).get_json()
    assert listed["params"]["runnerToken"] == "[redacted]"
    [delivered] = await poll(client)
    claims = services.auth.verify(delivered["params"]["runnerToken"])
    assert claims.sub == f"runner:{body['spawnRequestId']}"
    assert claims.role == "provider"
    assert claims.constraints["orchestrators"] == ["o1"]


async def test_orchestrator_silent_exactly_the_threshold_is_reaped(
    client: Any, clock: ManualClock, services: Services
) -> None:
    # The query agrees with the stale rule at the boundary (silent == threshold → stale).
    await register_orchestrator(client)
    clock.advance(30)
    assert [o.status for o in await reap_orchestrators(services.runtime)] == ["stale"]
