"""An automation runs as itself with every scope, later, with nobody asked: it does only
what the caller that saved (re-armed, ran) it may do at the action's own route."""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator

SPAWN = {"type": "spawn_agent", "orchestratorId": "o1", "policyName": "reviewer"}
POLICY = {"provider": "claude", "cwd": "/srv/o1/allowed", "model": "opus"}


async def _agent(client: Any, agent_id: str, orchestrator_id: str = "o1") -> None:
    response = await client.post(
        "/api/agents", json={"id": agent_id, "orchestratorId": orchestrator_id}, headers=H
    )
    assert response.status_code == 201, await response.get_data()


async def _queued(client: Any, agent_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/agents/{agent_id}/inbox?peek=true", headers=H)
    assert response.status_code == 200, await response.get_data()
    items: list[dict[str, Any]] = (await response.get_json())["items"]
    return items


async def test_a_token_bound_to_one_agent_posts_to_a_channel_it_may_not_through_an_automation(
    client: Any, mint: Any
) -> None:
    """A dashboard token bound to a1 sends as a1, and a1 has no outbound binding on ``ops``:
    its own post is refused. Saved as a ``post_message`` automation, the same post runs as
    ``automation:<id>``, a sender that is no agent and so "always may": the automation
    acts with more rights than the token that saved (and ran) it."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await _agent(client, "a1")
    await _agent(client, "a2")
    assert (await client.post("/api/channels", json={"id": "ops"}, headers=H)).status_code == 201
    binding = {"mode": "broadcast", "targetType": "agent", "target": "a2", "direction": "inbound"}
    response = await client.post("/api/channels/ops/bindings", json=binding, headers=H)
    assert response.status_code == 201, await response.get_data()
    a1_only = bearer(
        mint(
            ["message:write", "config:read", "config:write"],
            {"agents": ["a1"]},
            sub="ops-a1",
            role="dashboard",
        )
    )
    direct = await client.post(
        "/api/messages", json={"channelId": "ops", "body": "deploy now"}, headers=a1_only
    )
    assert direct.status_code == 403
    assert await direct.get_json() == {"error": "agent a1 may not post to channel ops"}
    assert await _queued(client, "a2") == []

    automation = {
        "name": "sneak",
        "trigger": {"type": "schedule", "everySeconds": 60},
        "action": {"type": "post_message", "channelId": "ops", "body": "deploy now"},
    }
    saved = await client.post("/api/automations", json=automation, headers=a1_only)
    if saved.status_code == 201:
        automation_id = (await saved.get_json())["id"]
        await client.post(f"/api/automations/{automation_id}/run", headers=a1_only)
    else:
        assert saved.status_code == 403
    # Whatever the relay refuses (the save, or the run), a2 is not sent what a1 may not send.
    assert await _queued(client, "a2") == []


async def test_a_spawn_automation_follows_its_policy_out_of_its_creators_paths(
    client: Any, mint: Any, clock: ManualClock
) -> None:
    """A token limited to /srv/o1/allowed saves a schedule that spawns by policy
    ``reviewer``. The operator later points the policy to /srv/o1/secret, where the token
    may not spawn. A schedule whose cwd was the policy's would then spawn there, with
    nobody asked (the job runs a saved action unchecked): such a token must name the
    action's own cwd, and every run keeps to it."""
    await register_orchestrator(client, "o1", "/srv/o1")
    url = "/api/config/spawn-policies/reviewer"
    assert (await client.put(url, json={"value": POLICY}, headers=H)).status_code in (200, 201)
    limited = bearer(
        mint(
            ["config:write", "config:read", "command:write"],
            {"orchestrators": ["o1"], "policyNames": ["reviewer"], "cwd": ["/srv/o1/allowed"]},
            role="dashboard",
        )
    )
    body = {"name": "nightly", "trigger": {"type": "schedule", "everySeconds": 60}, "action": SPAWN}
    # Its cwd would be the policy's at each run: refused. With its own, it keeps to it.
    refused = await client.post("/api/automations", json=body, headers=limited)
    assert (refused.status_code, await refused.get_json()) == (403, {"error": "forbidden"})
    own = {**SPAWN, "cwd": "/srv/o1/allowed"}
    saved = await client.post("/api/automations", json={**body, "action": own}, headers=limited)
    assert saved.status_code == 201, await saved.get_data()
    automation_id = (await saved.get_json())["id"]
    # The operator re-points its policy (as it may); the limited token may not spawn there.
    secret = {**POLICY, "cwd": "/srv/o1/secret"}
    assert (await client.put(url, json={"value": secret}, headers=H)).status_code == 200
    spawn = {"provider": "claude", "cwd": "/srv/o1/secret", "policyName": "reviewer"}
    direct = await client.post("/api/orchestrators/o1/spawn", json=spawn, headers=limited)
    assert direct.status_code == 403

    clock.advance(60)
    job = await client.post("/api/maintenance/jobs/automation-schedule/run", headers=H)
    assert job.status_code == 200, await job.get_data()
    commands = await (await client.get("/api/commands?target=o1", headers=H)).get_json()
    spawned_in = [c["params"].get("cwd") for c in commands if c["type"] == "agent.spawn"]
    assert spawned_in == ["/srv/o1/allowed"], spawned_in
    dispatches = await client.get(f"/api/automations/{automation_id}/dispatches", headers=H)
    assert [d["status"] for d in await dispatches.get_json()] == ["succeeded"]


async def test_a_task_automation_needs_task_write_and_no_agent_of_its_own(
    client: Any, mint: Any
) -> None:
    """A task is created as ``automation:<id>``: by a caller holding ``task:write`` that
    creates as no single agent either."""
    action = {"type": "create_task", "task": {"title": "triage"}}
    body = {"name": "t", "trigger": {"type": "schedule", "everySeconds": 60}, "action": action}
    no_task_write = bearer(mint(["config:write"]))
    one_agent = bearer(mint(["config:write", "task:write"], {"agents": ["a1"]}, role="dashboard"))
    for headers in (no_task_write, one_agent):
        response = await client.post("/api/automations", json=body, headers=headers)
        assert (response.status_code, await response.get_json()) == (403, {"error": "forbidden"})
    assert await (await client.get("/api/automations", headers=H)).get_json() == []
    writer = bearer(mint(["config:write", "task:write"]))
    assert (await client.post("/api/automations", json=body, headers=writer)).status_code == 201


async def test_a_token_whose_sub_is_its_agent_posts_where_it_may_not_through_an_automation(
    client: Any, mint: Any
) -> None:
    """_allow_action refuses post_message to a caller bound to one agent (own_agent), who
    speaks only as that agent. A token named after an agent it acts for (sub a1, agents
    [a1, a2]) speaks only as an agent too: with no from it sends as a1 (flows._sender), and
    neither a1 nor a2 may post to ops. Saved and run as an automation, its post goes out as
    automation:<id>, which may post anywhere."""
    await register_orchestrator(client, "o1", "/srv/o1")
    for agent_id in ("a1", "a2", "a3"):
        response = await client.post(
            "/api/agents", json={"id": agent_id, "orchestratorId": "o1"}, headers=H
        )
        assert response.status_code == 201, await response.get_data()
    assert (await client.post("/api/channels", json={"id": "ops"}, headers=H)).status_code == 201
    binding = {"mode": "broadcast", "targetType": "agent", "target": "a3", "direction": "inbound"}
    response = await client.post("/api/channels/ops/bindings", json=binding, headers=H)
    assert response.status_code == 201, await response.get_data()
    token = bearer(
        mint(
            ["message:read", "message:write", "config:read", "config:write"],
            {"agents": ["a1", "a2"]},
            sub="a1",
        )
    )
    for body in ({}, {"from": "a1"}, {"from": "a2"}):
        direct = await client.post(
            "/api/messages", json={"channelId": "ops", "body": "deploy", **body}, headers=token
        )
        assert direct.status_code == 403, (body, await direct.get_data())

    automation = {
        "name": "sneak",
        "trigger": {"type": "schedule", "everySeconds": 3600},
        "action": {"type": "post_message", "channelId": "ops", "body": "deploy"},
    }
    saved = await client.post("/api/automations", json=automation, headers=token)
    if saved.status_code == 201:
        automation_id = (await saved.get_json())["id"]
        ran = await client.post(f"/api/automations/{automation_id}/run", headers=token)
        assert ran.status_code == 403, (ran.status_code, await ran.get_data())
    assert saved.status_code == 403, (saved.status_code, await saved.get_data())
