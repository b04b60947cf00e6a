"""A restart or resume respawns only inside the managing orchestrator's ``baseDir``, as
``POST /api/orchestrators/:id/spawn`` does: a respawn whose cwd (from the agent's spawn
policy, or its card) lies outside it is refused with 400 ``cwd must be inside the
orchestrator's baseDir`` before anything happens. No command is queued (the daemon would
stop the running session before refusing the new one), no lifecycle is reserved and no
runner token is minted; a later restart inside the ``baseDir`` goes through."""

from __future__ import annotations

from typing import Any

from tests.http.helpers import H, register_orchestrator

POLICIES = "/api/config/spawn-policies"
OUTSIDE = {"error": "cwd must be inside the orchestrator's baseDir"}
META = {
    "runnerManaged": True,
    "provider": "claude",
    "sessionName": "s-a1",
    "cwd": "/srv/o1/repo",
}


async def managed_agent(client: Any, **meta: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    card = {"id": "a1", "orchestratorId": "o1", "meta": {**META, **meta}}
    assert (await client.post("/api/agents", json=card, headers=H)).status_code == 201


async def restart(client: Any) -> Any:
    return await client.post("/api/agents/a1/actions", json={"action": "restart"}, headers=H)


async def nothing_happened(client: Any) -> tuple[list[Any], Any, list[Any]]:
    queued = await (await client.get("/api/orchestrators/o1/commands?wait=0", headers=H)).get_json()
    stored = await (await client.get("/api/agents/a1", headers=H)).get_json()
    tokens = await (await client.get("/api/tokens", headers=H)).get_json()
    runner = [t for t in tokens if str(t.get("sub", "")).startswith("runner:")]
    return queued, stored["meta"].get("lifecycleAction"), runner


async def test_a_restart_by_a_policy_spawning_outside_the_base_dir_is_refused(
    client: Any,
) -> None:
    """The policy's cwd ``/srv/elsewhere/app`` is outside o1's ``/srv/o1``: 400, and no
    command, lifecycle or runner token is left behind."""
    policy = {"provider": "claude", "cwd": "/srv/elsewhere/app"}
    assert (
        await client.put(f"{POLICIES}/p1", json={"value": policy}, headers=H)
    ).status_code == 201
    await managed_agent(client, policyName="p1")
    response = await restart(client)
    assert (response.status_code, await response.get_json()) == (400, OUTSIDE)
    assert await nothing_happened(client) == ([], None, [])


async def test_a_restart_from_a_card_working_outside_the_base_dir_is_refused(
    client: Any,
) -> None:
    """With no policy the card's own cwd is respawned, and is judged the same way."""
    await managed_agent(client, cwd="/srv/o1-other/repo")
    response = await restart(client)
    assert (response.status_code, await response.get_json()) == (400, OUTSIDE)
    assert await nothing_happened(client) == ([], None, [])


async def test_a_restart_inside_the_base_dir_is_queued_once_the_policy_is_fixed(
    client: Any,
) -> None:
    """The refusal reserved nothing: once the policy spawns inside the ``baseDir`` the
    restart is queued (202) with that cwd."""
    policy = {"provider": "claude", "cwd": "/srv/elsewhere/app"}
    await client.put(f"{POLICIES}/p1", json={"value": policy}, headers=H)
    await managed_agent(client, policyName="p1")
    assert (await restart(client)).status_code == 400
    fixed = {**policy, "cwd": "/srv/o1/app"}
    await client.put(f"{POLICIES}/p1", json={"value": fixed}, headers=H)
    response = await restart(client)
    command = (await response.get_json())["command"]
    assert (response.status_code, command["params"]["restartSpawn"]["cwd"]) == (
        202,
        "/srv/o1/app",
    )


async def test_a_restart_of_a_card_recording_no_cwd_is_left_to_the_daemon(client: Any) -> None:
    """A card that records no cwd names none to judge: the restart is queued as before
    (the daemon refuses a respawn with no cwd before it stops anything), not refused as
    outside the ``baseDir``."""
    await managed_agent(client, cwd=None)
    response = await restart(client)
    assert response.status_code == 202, await response.get_data()
