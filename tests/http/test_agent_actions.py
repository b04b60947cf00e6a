"""POST /api/agents/:id/actions end to end: checks in order, the command on the right channel,
the lifecycle fields, the audit trail, settling, and the link from a resumed session."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.agent import reap_agents
from relay.actors.agent.action_rules import requested_title
from relay.actors.orchestrator import reap_orchestrators
from relay.clock import ManualClock
from relay.http.services import Services
from relay.store import commands as command_store
from tests.conftest import bearer
from tests.http.helpers import H, fail_audit_titled, patch_command, poll, register_orchestrator
from tests.http.sse_client import open_stream

RID = "0f8fad5b-d9cb-469f-a165-70867728950e"
OLDER_RID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
CLAUDE_META = {
    "runnerManaged": True,
    "provider": "claude",
    "model": "opus",
    "sessionName": "s-a1",
    "cwd": "/srv/o1/repo",
    "providerArgs": ["--verbose", "--resume", "old-session"],
    "spawnRequestId": "sp_first",
}
LIFECYCLE_FIELDS = ("lifecycleAction", "lifecycleActionAt", "lifecycleCommandId")
LIFECYCLE_ALL = {
    "restartHard": True,
    "shutdown": True,
    "reconnect": True,
    "compact": True,
    "clearContext": True,
}


async def register_agent(client: Any, agent_id: str = "a1", **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/agents", json={"id": agent_id, **fields}, headers=H)
    assert response.status_code in (200, 201), await response.get_data()
    card: dict[str, Any] = await response.get_json()
    return card


async def note(client: Any, metadata: dict[str, Any], agent_id: str = "a1") -> None:
    response = await client.post(
        f"/api/agents/{agent_id}/timeline",
        json={"title": "session", "metadata": metadata},
        headers=H,
    )
    assert response.status_code == 201


async def act(client: Any, action: Any, agent_id: str = "a1", headers: Any = None) -> Any:
    return await client.post(
        f"/api/agents/{agent_id}/actions", json={"action": action}, headers=headers or H
    )


async def get_agent(client: Any, agent_id: str = "a1") -> dict[str, Any]:
    card: dict[str, Any] = await (await client.get(f"/api/agents/{agent_id}", headers=H)).get_json()
    return card


async def activity_titles(client: Any, agent_id: str = "a1") -> list[str]:
    events = await (await client.get(f"/api/activity?agentId={agent_id}", headers=H)).get_json()
    return [event["title"] for event in events]


async def refused(response: Any, status: int, message: str) -> None:
    assert response.status_code == status
    assert await response.get_json() == {"error": message}


async def dead_claude_agent(
    client: Any, services: Services, clock: ManualClock, **fields: Any
) -> dict[str, Any]:
    """Orchestrator o1 online; Claude session a1 of o1, with a resume id, reaped offline."""
    orchestrator = await register_orchestrator(client)
    await register_agent(client, orchestratorId="o1", meta=CLAUDE_META, **fields)
    await note(client, {"provider": "claude", "claudeResumeId": OLDER_RID})
    await note(client, {"provider": "claude", "claudeResumeId": RID})
    await note(client, {"provider": "claude", "claudeResumeId": "not-a-uuid"})
    clock.advance(301)
    assert [card.status for card in await reap_agents(services.runtime)] == ["offline"]
    response = await client.post("/api/orchestrators/o1/heartbeat", headers=H)
    assert response.status_code == 200
    return orchestrator


# -- checks, in order ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["kill", "", None, 3, "Resume"])
async def test_unknown_action_is_400_even_for_an_unknown_agent(client: Any, action: Any) -> None:
    await refused(
        await act(client, action, agent_id="nobody"),
        400,
        "action must be one of restart, shutdown, reconnect, compact, clearContext, resume",
    )


async def test_missing_action_is_400(client: Any) -> None:
    response = await client.post("/api/agents/a1/actions", json={}, headers=H)
    await refused(response, 400, "action is required")


async def test_unknown_agent_is_404(client: Any) -> None:
    await refused(await act(client, "restart", agent_id="nobody"), 404, "agent not found")


@pytest.mark.parametrize(
    ("fields", "action"),
    [
        ({}, "restart"),
        ({"meta": {"runnerManaged": True}}, "compact"),
        ({"meta": {"runnerManaged": True, "provider": "claude"}}, "resume"),  # online
        ({"meta": {"provider": "codex"}}, "resume"),
        ({"providerCapabilities": {"lifecycle": {"compact": True}}}, "shutdown"),
        ({"kind": "human", "meta": {"runnerManaged": True}}, "shutdown"),
    ],
)
async def test_unsupported_action_is_400(client: Any, fields: dict[str, Any], action: str) -> None:
    await register_agent(client, **fields)
    await refused(await act(client, action), 400, f"agent does not support {action}")


async def test_resume_with_no_online_orchestrator_is_409(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await dead_claude_agent(client, services, clock)
    clock.advance(31)
    await reap_orchestrators(services.runtime)
    await refused(
        await act(client, "resume"), 409, "no online orchestrator available to resume agent"
    )


async def test_resume_of_a_session_no_orchestrator_owns_is_409_before_422(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await register_orchestrator(client)
    await register_agent(client, meta={"runnerManaged": True, "provider": "claude"})
    clock.advance(31)
    await reap_agents(services.runtime)  # stale is enough to resume
    await refused(
        await act(client, "resume"), 409, "no online orchestrator available to resume agent"
    )


async def test_resume_without_a_recorded_resume_id_is_422(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await register_orchestrator(client)
    await register_agent(client, orchestratorId="o1", meta=CLAUDE_META)
    await note(client, {"provider": "codex", "claudeResumeId": RID})
    await note(client, {"provider": "claude", "claudeResumeId": "not-a-uuid"})
    clock.advance(301)
    await reap_agents(services.runtime)
    await client.post("/api/orchestrators/o1/heartbeat", headers=H)
    await refused(await act(client, "resume"), 422, "no Claude resume id recorded for agent")


# -- authorization ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "constraints"),
    [
        (["agent:write"], {"agents": ["a2"]}),
        (["agent:write"], {"orchestrators": ["o2"]}),
        (["agent:write"], {"policyNames": ["other-policy"]}),
        (["agent:write"], {"spawnRequestIds": ["sp_other"]}),
        (["agent:read", "command:write"], {}),
    ],
)
async def test_a_token_that_does_not_cover_the_agent_gets_403(
    client: Any,
    services: Services,
    clock: ManualClock,
    mint: Any,
    scope: list[str],
    constraints: dict[str, list[str]],
) -> None:
    await dead_claude_agent(client, services, clock)
    await client.patch("/api/agents/a1", json={"meta": {"policyName": "p1"}}, headers=H)
    token = mint(scope, constraints)
    await refused(await act(client, "resume", headers=bearer(token)), 403, "forbidden")
    assert await poll(client) == []
    assert "lifecycleAction" not in (await get_agent(client))["meta"]


async def test_a_token_covering_agent_and_orchestrator_may_resume(
    client: Any, services: Services, clock: ManualClock, mint: Any
) -> None:
    await dead_claude_agent(client, services, clock)
    # Not limited by spawnRequestIds: a resume spawns under a new spawn request, which such
    # a token does not name (test_restart_constraints).
    token = mint(["agent:write"], {"agents": ["a1"], "orchestrators": ["o1"]})
    response = await act(client, "resume", headers=bearer(token))
    assert response.status_code == 202
    command = (await response.get_json())["command"]
    assert command["source"] == "test-component"


# -- the round trip -----------------------------------------------------------------------------


async def test_resume_round_trip(client: Any, services: Services, clock: ManualClock) -> None:
    orchestrator = await dead_claude_agent(client, services, clock)
    clock.advance(2)
    requested_at = clock.now_ms()

    response = await act(client, "resume")
    assert response.status_code == 202
    command = (await response.get_json())["command"]
    assert (command["type"], command["target"], command["status"]) == (
        "agent.restart",
        "o1",
        "queued",
    )

    card = await get_agent(client)
    assert card["ready"] is False
    assert card["meta"]["lifecycleAction"] == "resuming"
    assert card["meta"]["lifecycleActionAt"] == requested_at
    assert card["meta"]["lifecycleCommandId"] == command["id"]
    assert "Agent resume requested" in await activity_titles(client)

    delivered = await poll(client, headers=bearer(orchestrator["token"]))
    assert [c["id"] for c in delivered] == [command["id"]]
    params = delivered[0]["params"]
    assert params["action"] == "resume"
    assert (params["agentId"], params["claudeResumeId"], params["sessionName"]) == (
        "a1",
        RID,
        "s-a1",
    )
    spawn = params["restartSpawn"]
    assert spawn["providerArgs"] == ["--verbose", "--resume", RID]
    assert spawn["providerArgs"][-2:] == ["--resume", RID]
    assert (spawn["provider"], spawn["model"], spawn["cwd"]) == ("claude", "opus", "/srv/o1/repo")
    assert (spawn["requestedBy"], spawn["resumeOfAgentId"], spawn["claudeResumeId"]) == (
        "dashboard-resume",
        "a1",
        RID,
    )
    assert spawn["spawnRequestId"].startswith("sp_")
    assert spawn["spawnRequestId"] != "sp_first"
    assert delivered[0]["correlationId"] == spawn["spawnRequestId"]
    runner = services.auth.verify(spawn["runnerToken"])
    assert (runner.sub, runner.role) == (f"runner:{spawn['spawnRequestId']}", "provider")
    assert runner.constraints["orchestrators"] == ["o1"]

    settled = await patch_command(
        client, command["id"], "succeeded", headers=bearer(orchestrator["token"])
    )
    assert settled.status_code == 200

    events = await (await client.get("/api/activity?agentId=a1", headers=H)).get_json()
    resumed = [event for event in events if event["title"] == "Agent resumed"]
    assert len(resumed) == 1
    assert resumed[0]["icon"] == "ti-player-play"
    assert resumed[0]["metadata"]["commandId"] == command["id"]
    card = await get_agent(client)
    assert not any(field in card["meta"] for field in LIFECYCLE_FIELDS)
    assert card["status"] == "offline"  # until the resumed session reports in


async def test_settling_again_changes_nothing(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await dead_claude_agent(client, services, clock)
    command = (await (await act(client, "resume")).get_json())["command"]
    await patch_command(client, command["id"], "succeeded")
    rt = services.runtime
    settled = await rt.store.run(lambda: command_store.load(command["id"]))
    assert settled is not None
    await rt.settle_hooks.run(rt, settled)  # e.g. the missed-effects job after a crash
    titles = await activity_titles(client)
    assert titles.count("Agent resumed") == 1


async def test_requesting_publishes_the_agents_lifecycle(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await dead_claude_agent(client, services, clock)
    async with open_stream(client, query={"agentId": "a1"}) as stream:
        command = (await (await act(client, "resume")).get_json())["command"]
        frame = await stream.next_event()
        while frame.event != "agent":
            frame = await stream.next_event()
    assert frame.data["agent"]["ready"] is False
    assert frame.data["agent"]["meta"]["lifecycleCommandId"] == command["id"]


async def test_restart_failure_is_audited_and_clears_the_lifecycle(
    client: Any, services: Services, clock: ManualClock
) -> None:
    orchestrator = await dead_claude_agent(client, services, clock)
    response = await act(client, "restart")
    assert response.status_code == 202
    command = (await response.get_json())["command"]
    assert command["params"]["action"] == "restart"
    spawn = command["params"]["restartSpawn"]
    assert spawn["requestedBy"] == "dashboard-restart"
    assert spawn["providerArgs"] == ["--verbose", "--resume", "old-session"]
    assert "claudeResumeId" not in spawn
    assert (await get_agent(client))["meta"]["lifecycleAction"] == "restarting"

    await patch_command(
        client, command["id"], "failed", error="tmux gone", headers=bearer(orchestrator["token"])
    )
    events = await (await client.get("/api/activity?agentId=a1", headers=H)).get_json()
    failed = [event for event in events if event["title"] == "Agent restart failed"]
    assert [(event["body"], event["icon"]) for event in failed] == [("tmux gone", "ti-refresh")]
    assert "lifecycleAction" not in (await get_agent(client))["meta"]


async def test_restart_respawns_from_the_spawn_policy(
    client: Any, services: Services, clock: ManualClock
) -> None:
    policy = {"provider": "claude", "model": "sonnet", "cwd": "/srv/o1/app", "label": "night"}
    response = await client.put("/api/config/spawn-policies/p1", json={"value": policy}, headers=H)
    assert response.status_code == 201
    await dead_claude_agent(client, services, clock)
    await client.patch("/api/agents/a1", json={"meta": {"policyName": "p1"}}, headers=H)
    command = (await (await act(client, "restart")).get_json())["command"]
    spawn = command["params"]["restartSpawn"]
    assert (spawn["model"], spawn["cwd"], spawn["label"], spawn["policyName"]) == (
        "sonnet",
        "/srv/o1/app",
        "night",
        "p1",
    )
    assert command["params"]["policyName"] == "p1"


async def test_shutdown_succeeded_marks_the_agent_offline(client: Any) -> None:
    orchestrator = await register_orchestrator(client)
    await register_agent(client, orchestratorId="o1", meta=CLAUDE_META, ready=True)
    command = (await (await act(client, "shutdown")).get_json())["command"]
    assert (command["type"], command["target"]) == ("agent.shutdown", "o1")
    assert "restartSpawn" not in command["params"]
    card = await get_agent(client)
    assert (card["ready"], card["meta"]["lifecycleAction"]) == (False, "shutting-down")

    await patch_command(client, command["id"], "succeeded", headers=bearer(orchestrator["token"]))
    card = await get_agent(client)
    assert card["status"] == "offline"
    assert "lifecycleAction" not in card["meta"]
    assert "Agent shut down" in await activity_titles(client)


async def test_a_shutdown_settle_and_its_audit_row_are_one_commit(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    orchestrator = await register_orchestrator(client)
    await register_agent(client, orchestratorId="o1", meta=CLAUDE_META, ready=True)
    command = (await (await act(client, "shutdown")).get_json())["command"]
    settle = bearer(orchestrator["token"])
    with monkeypatch.context() as patched:
        fail_audit_titled(patched, "Agent shut down")
        await patch_command(client, command["id"], "succeeded", headers=settle)
        # The row could not be written, so the lifecycle was not cleared either.
        card = await get_agent(client)
        assert card["meta"]["lifecycleAction"] == "shutting-down"
        assert "Agent shut down" not in await activity_titles(client)

    # A repeated report applies the missing effects, once.
    assert (
        await patch_command(client, command["id"], "succeeded", headers=settle)
    ).status_code == 200
    card = await get_agent(client)
    assert card["status"] == "offline"
    assert "lifecycleAction" not in card["meta"]
    assert (await activity_titles(client)).count("Agent shut down") == 1


async def test_restart_without_a_managing_orchestrator_goes_to_the_agent(client: Any) -> None:
    await register_agent(client, meta={"runnerManaged": True, "provider": "codex"})
    command = (await (await act(client, "restart")).get_json())["command"]
    assert (command["target"], command["targetKind"]) == ("a1", "agent")
    assert "restartSpawn" not in command["params"]
    assert (await get_agent(client))["meta"]["lifecycleCommandId"] == command["id"]


@pytest.mark.parametrize(
    ("action", "type_", "done"),
    [
        ("compact", "agent.compact", "Agent compacted"),
        ("clearContext", "agent.clearContext", "Agent context cleared"),
        ("reconnect", "agent.reconnect", "Agent reconnected"),
    ],
)
async def test_session_actions_use_the_agents_own_channel(
    client: Any, action: str, type_: str, done: str
) -> None:
    await register_agent(client, ready=True, providerCapabilities={"lifecycle": LIFECYCLE_ALL})
    response = await act(client, action)
    assert response.status_code == 202
    command = (await response.get_json())["command"]
    assert (command["type"], command["target"], command["params"]["action"]) == (
        type_,
        "a1",
        action,
    )
    card = await get_agent(client)
    assert card["ready"] is True
    assert "lifecycleAction" not in card["meta"]
    channel = await (await client.get("/api/agents/a1/commands", headers=H)).get_json()
    assert [c["id"] for c in channel] == [command["id"]]
    await patch_command(client, command["id"], "succeeded")
    assert done in await activity_titles(client)


@pytest.mark.parametrize("action", ["compact", "clearContext", "reconnect"])
async def test_session_actions_of_a_managed_agent_go_to_its_orchestrator(
    client: Any, action: str
) -> None:
    # The orchestrator owns the session's terminal: the keystrokes are its job.
    await register_orchestrator(client)
    await register_agent(
        client,
        orchestratorId="o1",
        meta={"runnerManaged": True, "provider": "claude"},
        providerCapabilities={"lifecycle": LIFECYCLE_ALL},
    )
    response = await act(client, action)
    assert response.status_code == 202
    command = (await response.get_json())["command"]
    assert (command["target"], command["targetKind"]) == ("o1", "orchestrator")
    assert [c["id"] for c in await poll(client)] == [command["id"]]


async def test_an_older_command_does_not_clear_a_newer_lifecycle(
    client: Any, services: Services
) -> None:
    await register_orchestrator(client)
    await register_agent(client, orchestratorId="o1", meta=CLAUDE_META)
    restart = (await (await act(client, "restart")).get_json())["command"]
    await patch_command(client, restart["id"], "cancelled")
    shutdown = (await (await act(client, "shutdown")).get_json())["command"]
    # The restart's settle hook runs again (the missed-effects job after a crash).
    rt = services.runtime
    settled = await rt.store.run(lambda: command_store.load(restart["id"]))
    assert settled is not None
    await rt.settle_hooks.run(rt, settled)
    meta = (await get_agent(client))["meta"]
    assert (meta["lifecycleAction"], meta["lifecycleCommandId"]) == (
        "shutting-down",
        shutdown["id"],
    )


# -- the resumed session -------------------------------------------------------------------------


async def test_a_resumed_session_links_back_to_the_old_agent(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await dead_claude_agent(client, services, clock)
    command = (await (await act(client, "resume")).get_json())["command"]
    spawn = command["params"]["restartSpawn"]
    new = await register_agent(
        client,
        "a2",
        orchestratorId="o1",
        meta={
            "provider": "claude",
            "runnerManaged": True,
            "resumeOfAgentId": spawn["resumeOfAgentId"],
            "spawnRequestId": spawn["spawnRequestId"],
        },
    )
    assert new["meta"]["resumeOfAgentId"] == "a1"
    assert (await get_agent(client, "a1"))["meta"]["resumedByAgentId"] == "a2"
    assert (await get_agent(client, "a2"))["meta"]["resumeOfAgentId"] == "a1"


async def test_a_caller_cannot_link_an_agent_it_may_not_touch(client: Any, mint: Any) -> None:
    await register_agent(client, "victim", orchestratorId="o9")
    token = mint(["agent:write"], {"orchestrators": ["o1"]})
    response = await client.post(
        "/api/agents",
        json={"id": "a2", "orchestratorId": "o1", "meta": {"resumeOfAgentId": "victim"}},
        headers=bearer(token),
    )
    assert response.status_code == 201
    assert "resumedByAgentId" not in (await get_agent(client, "victim"))["meta"]


async def test_an_action_and_its_requested_row_are_one_commit(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register_orchestrator(client)
    await register_agent(
        client,
        orchestratorId="o1",
        meta={"runnerManaged": True, "provider": "claude"},
        providerCapabilities={"lifecycle": LIFECYCLE_ALL},
    )
    with monkeypatch.context() as patched:
        fail_audit_titled(patched, requested_title("compact"))
        response = await act(client, "compact")
        assert response.status_code >= 500
    # Neither the command nor its row was stored.
    assert await poll(client) == []
    assert requested_title("compact") not in await activity_titles(client)

    response = await act(client, "compact")
    assert response.status_code == 202, await response.get_data()
    assert (await activity_titles(client)).count(requested_title("compact")) == 1


async def test_an_orchestrator_claiming_another_orchestrators_agent_may_not_act_on_it(
    client: Any, services: Services, clock: ManualClock
) -> None:
    """An agent belongs to the orchestrator it is stored under: o2, listing o1's session
    among its managed agents while o1 is offline, is the one the command would reach,
    but its token does not cover a1, whose stored orchestrator is o1."""
    await register_orchestrator(client, "o1", "/srv/o1")
    o2 = await register_orchestrator(client, "o2", "/srv/o2")
    meta = {"runnerManaged": True, "provider": "codex", "sessionName": "s-a1"}
    await register_agent(client, orchestratorId="o1", meta=meta)
    clock.advance(301)
    o2_token = bearer(o2["token"])
    claim = {"agentId": "a1", "sessionName": "s-a1", "provider": "codex", "status": "running"}
    response = await client.post(
        "/api/orchestrators/o2/heartbeat", json={"managedAgents": [claim]}, headers=o2_token
    )
    assert response.status_code == 200
    await reap_orchestrators(services.runtime)
    await refused(await act(client, "restart", headers=o2_token), 403, "forbidden")
    assert await poll(client, "o2") == []
    assert "lifecycleAction" not in (await get_agent(client))["meta"]
