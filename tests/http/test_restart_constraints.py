"""POST /api/agents/:id/actions for restart and resume, by a constrained token: the spawn the
command queues (``restartSpawn``, built from the card's meta or its spawn policy) is judged
as POST /api/commands judges the same params made by hand (``allow_command_params``), not
only the agent, orchestrator, policy name and spawn request the card names."""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, patch_command, poll, register_orchestrator
from tests.http.test_agent_actions import CLAUDE_META, act, dead_claude_agent, get_agent

SCOPE = ["agent:read", "agent:write", "command:write"]
LIMITS = {"orchestrators": ["o1"], "cwd": ["/srv/o1/safe"], "policyNames": ["p1"]}
# What differs between two restarts of one card: the new spawn, its runner token, the time.
PER_REQUEST = ("spawnRequestId", "runnerToken", "requestedAt")


async def register_session(client: Any, **meta: Any) -> None:
    """Orchestrator o1 online, Claude session a1 of o1 with ``meta`` over ``CLAUDE_META``."""
    await register_orchestrator(client, "o1", "/srv/o1")
    response = await client.post(
        "/api/agents",
        json={"id": "a1", "orchestratorId": "o1", "meta": {**CLAUDE_META, **meta}},
        headers=H,
    )
    assert response.status_code == 201


async def restart_spawn_of(response: Any) -> dict[str, Any]:
    """The ``restartSpawn`` of the command a 202 queued, without what differs per request."""
    assert response.status_code == 202, await response.get_data()
    spawn: dict[str, Any] = (await response.get_json())["command"]["params"]["restartSpawn"]
    return {key: value for key, value in spawn.items() if key not in PER_REQUEST}


async def assert_refused_and_nothing_queued(client: Any, response: Any) -> None:
    """403, and the refusal queued no command and reserved no lifecycle."""
    body = await response.get_json()
    spawn = body.get("command", {}).get("params", {}).get("restartSpawn", {})
    assert response.status_code == 403, f"queued restartSpawn {spawn}"
    assert body == {"error": "forbidden"}
    assert await poll(client) == []
    assert "lifecycleAction" not in (await get_agent(client))["meta"]


async def test_a_restart_respawns_only_within_the_callers_cwd(client: Any, mint: Any) -> None:
    """The card's meta.cwd lies outside the token's cwd: the spawn route and POST
    /api/commands refuse that cwd to this token, and so does the restart that would spawn
    there."""
    await register_session(client, cwd="/srv/o1/secret")
    limited = bearer(mint(SCOPE, LIMITS))
    spawn = await client.post(
        "/api/orchestrators/o1/spawn",
        json={"provider": "claude", "cwd": "/srv/o1/secret"},
        headers=limited,
    )
    assert spawn.status_code == 403
    response = await act(client, "restart", headers=limited)
    await assert_refused_and_nothing_queued(client, response)


async def test_a_restart_through_an_allowed_policy_stays_within_the_callers_cwd(
    client: Any, mint: Any
) -> None:
    """The card's cwd is inside the token's, but the spawn policy it names (p1, one the token
    may use) spawns outside it: the policy's value, merged into restartSpawn, is judged."""
    policy = {"provider": "claude", "cwd": "/srv/o1/secret"}
    put = await client.put("/api/config/spawn-policies/p1", json={"value": policy}, headers=H)
    assert put.status_code == 201
    await register_session(client, cwd="/srv/o1/safe/x", policyName="p1")
    response = await act(client, "restart", headers=bearer(mint(SCOPE, LIMITS)))
    await assert_refused_and_nothing_queued(client, response)


async def test_a_resume_respawns_only_within_the_callers_cwd(
    client: Any, services: Services, clock: ManualClock, mint: Any
) -> None:
    """A resume queues a restartSpawn too (CLAUDE_META's cwd is /srv/o1/repo)."""
    await dead_claude_agent(client, services, clock)
    limited = bearer(mint(SCOPE, {"cwd": ["/srv/o1/safe"]}))
    response = await act(client, "resume", headers=limited)
    await assert_refused_and_nothing_queued(client, response)


async def test_a_restart_within_the_callers_cwd_queues_the_same_spawn(
    client: Any, mint: Any
) -> None:
    """A cwd-limited token restarting a session inside its prefix still gets 202, with the
    restartSpawn an unconstrained caller gets."""
    await register_session(client, cwd="/srv/o1/safe/x")
    limited = await act(client, "restart", headers=bearer(mint(SCOPE, LIMITS)))
    spawn = await restart_spawn_of(limited)
    assert spawn["cwd"] == "/srv/o1/safe/x"
    command_id = (await limited.get_json())["command"]["id"]
    # Settled, the restart gives the lifecycle back: the next one may start.
    assert (await patch_command(client, command_id, "cancelled")).status_code == 200
    assert spawn == await restart_spawn_of(await act(client, "restart"))


async def test_a_restart_by_a_spawn_request_limited_token_opens_no_new_spawn_request(
    client: Any, mint: Any
) -> None:
    """A restart spawns under a fresh spawn request (the daemon names the new session after
    it): a token limited to sp_first, refused by POST /api/commands any other
    restartSpawn.spawnRequestId, gets no restart, and no runner token for a new one."""
    await register_session(client)
    limited = bearer(mint(SCOPE, {"spawnRequestIds": ["sp_first"]}))
    by_hand = await client.post(
        "/api/commands",
        json={
            "type": "agent.restart",
            "target": "o1",
            "params": {"agentId": "a1", "restartSpawn": {"spawnRequestId": "sp_other"}},
        },
        headers=limited,
    )
    assert by_hand.status_code == 403
    response = await act(client, "restart", headers=limited)
    await assert_refused_and_nothing_queued(client, response)
    tokens = await (await client.get("/api/tokens", headers=H)).get_json()
    assert not [t for t in tokens if str(t.get("sub", "")).startswith("runner:")], tokens
