"""A spawned session's runner token is its agent's: bound to that agent as well as to its
orchestrator, so it reaches no sibling session; and a token limited to some agents spawns
none (its constraints cannot name an agent that does not exist yet)."""

from __future__ import annotations

from typing import Any

from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, create_command, poll, register_orchestrator


async def spawn(client: Any, headers: Any = None) -> Any:
    return await client.post(
        "/api/orchestrators/o1/spawn",
        json={"provider": "claude", "cwd": "/srv/o1"},
        headers=headers or H,
    )


async def spawned_runner(client: Any, services: Services) -> tuple[str, str]:
    """``(agent id, runner token)`` of a session spawned on o1 and registered there, as the
    daemon registers it: under the ``agentId`` the spawn names."""
    body = await (await spawn(client)).get_json()
    [delivered] = [c for c in await poll(client) if c["id"] == body["command"]["id"]]
    agent_id = delivered["params"]["agentId"]
    registered = await client.post(
        "/api/agents",
        json={"id": agent_id, "orchestratorId": "o1", "meta": {"runnerManaged": True}},
        headers=H,
    )
    assert registered.status_code in (200, 201)
    return agent_id, delivered["params"]["runnerToken"]


async def test_a_spawn_names_its_agent_and_binds_the_runner_token_to_it(
    client: Any, services: Services
) -> None:
    await register_orchestrator(client)
    body = await (await spawn(client)).get_json()
    [delivered] = await poll(client)
    agent_id = f"agent-{body['spawnRequestId']}"
    assert delivered["params"]["agentId"] == agent_id
    claims = services.auth.verify(delivered["params"]["runnerToken"])
    assert claims.constraints == {"orchestrators": ["o1"], "agents": [agent_id]}


async def test_a_runner_reaches_its_own_agent_and_no_sibling(
    client: Any, services: Services
) -> None:
    await register_orchestrator(client)
    own, token = await spawned_runner(client, services)
    sibling, _ = await spawned_runner(client, services)
    runner = bearer(token)
    before = await (await client.get(f"/api/agents/{sibling}", headers=H)).get_json()
    assert (await client.post(f"/api/agents/{own}/heartbeat", headers=runner)).status_code == 200
    assert (await client.get(f"/api/agents/{own}/commands", headers=runner)).status_code == 200
    refused = [
        await client.post(f"/api/agents/{sibling}/heartbeat", headers=runner),
        await client.get(f"/api/agents/{sibling}/commands", headers=runner),
        await client.patch(f"/api/agents/{sibling}", json={"ready": True}, headers=runner),
        await client.get(f"/api/agents/{sibling}/inbox", headers=runner),
    ]
    for response in refused:
        assert response.status_code == 403
        assert await response.get_json() == {"error": "forbidden"}
    # The sibling is untouched: not made ready, never heartbeaten by the runner.
    assert await (await client.get(f"/api/agents/{sibling}", headers=H)).get_json() == before


async def test_a_restart_binds_the_new_runner_token_to_the_same_agent(
    client: Any, services: Services
) -> None:
    await register_orchestrator(client)
    own, _token = await spawned_runner(client, services)
    await client.patch(
        f"/api/agents/{own}",
        json={"meta": {"runnerManaged": True, "provider": "claude", "cwd": "/srv/o1"}},
        headers=H,
    )
    response = await client.post(
        f"/api/agents/{own}/actions", json={"action": "restart"}, headers=H
    )
    assert response.status_code in (200, 202), await response.get_data()
    [restart] = [c for c in await poll(client) if c["type"] == "agent.restart"]
    respawn = restart["params"]["restartSpawn"]
    claims = services.auth.verify(respawn["runnerToken"])
    assert respawn["agentId"] == own
    assert claims.constraints == {"orchestrators": ["o1"], "agents": [own]}


async def test_a_token_limited_to_agents_cannot_spawn(client: Any, mint: Any) -> None:
    await register_orchestrator(client)
    limited = bearer(mint(["command:write", "command:read"], {"agents": ["a1"]}))
    response = await spawn(client, limited)
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}
    assert await poll(client) == []


async def test_a_runner_steers_no_session_through_its_orchestrator(
    client: Any, services: Services, mint: Any
) -> None:
    """A command to the orchestrator acts on the host (a session it names by sessionName,
    a new session): refused to a token limited to agents, made by hand or cancelled."""
    await register_orchestrator(client)
    _own, token = await spawned_runner(client, services)
    sibling, _ = await spawned_runner(client, services)
    queued = await create_command(client, "o1", "agent.wake", params={"agentId": sibling})
    for headers in (bearer(token), bearer(mint(["command:write"], {"agents": [sibling]}))):
        refused = [
            await client.post(
                "/api/commands",
                json={"type": kind, "target": "o1", "params": params},
                headers=headers,
            )
            for kind, params in (
                ("agent.shutdown", {"sessionName": f"relay-{sibling.removeprefix('agent-')}"}),
                ("agent.spawn", {"provider": "claude", "cwd": "/srv/o1"}),
            )
        ]
        refused.append(
            await client.patch(
                f"/api/commands/{queued['id']}", json={"status": "cancelled"}, headers=headers
            )
        )
        for response in refused:
            assert response.status_code == 403
            assert await response.get_json() == {"error": "forbidden"}
    # Nothing else was queued, and the wake is handed out: not cancelled.
    assert [c["id"] for c in await poll(client)] == [queued["id"]]


async def test_a_runner_cannot_readdress_its_own_session_to_a_siblings(
    client: Any, services: Services, mint: Any
) -> None:
    """What the host addresses and respawns a session by (meta.tmuxSession, sessionName,
    cwd, providerArgs, …) is the orchestrator's to write: a token limited to agents that
    points its own card at a sibling's session would have its own shutdown kill it."""
    await register_orchestrator(client)
    own, token = await spawned_runner(client, services)
    sibling, _ = await spawned_runner(client, services)
    runner = bearer(token)
    victim = f"relay-{sibling.removeprefix('agent-')}"
    before = await (await client.get(f"/api/agents/{own}", headers=H)).get_json()
    for meta in ({"tmuxSession": victim}, {"sessionName": victim}, {"cwd": "/"}):
        for response in (
            await client.patch(f"/api/agents/{own}", json={"meta": meta}, headers=runner),
            await client.post(
                "/api/agents",
                json={"id": own, "orchestratorId": "o1", "meta": meta},
                headers=runner,
            ),
        ):
            assert response.status_code == 403
            assert await response.get_json() == {"error": "forbidden"}
    assert await (await client.get(f"/api/agents/{own}", headers=H)).get_json() == before
    # What it may write: the rest of its meta, and a repeat of what the host wrote.
    same = {"runnerManaged": True, "note": "mine"}
    response = await client.patch(f"/api/agents/{own}", json={"meta": same}, headers=runner)
    assert response.status_code == 200
    # 1 for true is a change: is_runner_managed reads true only, and its shutdown would
    # then go to its own channel, which it may ignore.
    response = await client.patch(
        f"/api/agents/{own}", json={"meta": {"runnerManaged": 1}}, headers=runner
    )
    assert response.status_code == 403
    # An agent no host runs describes itself freely, but cannot make a host run it.
    free = bearer(mint(["agent:write", "agent:read"], {"agents": ["free"]}))
    described: dict[str, object] = {"sessionName": victim, "provider": "codex"}
    managed: dict[str, object] = {"sessionName": victim, "runnerManaged": True}
    for free_meta, status in ((described, 201), (managed, 403)):
        response = await client.post(
            "/api/agents", json={"id": "free", "meta": free_meta}, headers=free
        )
        assert response.status_code == status


async def test_a_runner_records_no_workspace(client: Any, services: Services) -> None:
    """Merge and cleanup act on a workspace record's paths and branch on the host: the
    orchestrator records the worktrees it makes, a token limited to agents none."""
    await register_orchestrator(client)
    own, token = await spawned_runner(client, services)
    response = await client.post(
        "/api/workspaces",
        json={
            "agentId": own,
            "orchestratorId": "o1",
            "repoRoot": "/srv/o1/repo",
            "worktreePath": "/srv/o1/repo-sibling",
        },
        headers=bearer(token),
    )
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}
    listed = await (await client.get("/api/workspaces", headers=H)).get_json()
    assert listed == []


async def test_a_token_limited_to_agents_cannot_move_its_agent_to_another_host(
    client: Any, services: Services, mint: Any
) -> None:
    """Re-registering under another orchestrator would send the agent's restarts and
    wakes there: refused to a token limited to agents, even one not limited by
    orchestrator; a repeat under the same orchestrator passes."""
    await register_orchestrator(client)
    await register_orchestrator(client, "o2", "/srv/o2")
    own, _ = await spawned_runner(client, services)
    token = bearer(mint(["agent:write", "agent:read"], {"agents": [own]}))
    moved = await client.post(
        "/api/agents", json={"id": own, "orchestratorId": "o2"}, headers=token
    )
    assert moved.status_code == 403
    assert await moved.get_json() == {"error": "forbidden"}
    same = await client.post("/api/agents", json={"id": own, "orchestratorId": "o1"}, headers=token)
    assert same.status_code == 200
    card = await (await client.get(f"/api/agents/{own}", headers=H)).get_json()
    assert card["orchestratorId"] == "o1"
