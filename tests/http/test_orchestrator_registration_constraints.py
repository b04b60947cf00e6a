"""An orchestrator (re-)registration hands out the orchestrator's runtime token, which
acts for every agent the orchestrator runs. A constrained caller registers only the
orchestrator its constraints name as itself (``orchestrator_auth.is_target``: limited to
it, bound to no agent), and never gets through it a token wider than itself; the same rule
keeps an agent's token off its orchestrator's command queue."""

from __future__ import annotations

from typing import Any

import pytest

from relay.auth.profiles import ORCHESTRATOR
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, poll, register_orchestrator


async def _agent(client: Any, agent_id: str, orchestrator_id: str) -> None:
    response = await client.post(
        "/api/agents", json={"id": agent_id, "orchestratorId": orchestrator_id}, headers=H
    )
    assert response.status_code == 201, await response.get_json()


async def _provider_agent_token(client: Any, agent_id: str, orchestrator_id: str) -> Any:
    """A provider-agent token for one agent under its orchestrator: the runner tokens'
    constraints, but not named ``runner:``."""
    issued = await client.post(
        "/api/tokens",
        json={
            "sub": f"agent-{agent_id}",
            "profile": "provider-agent",
            "constraints": {"orchestrators": [orchestrator_id], "agents": [agent_id]},
        },
        headers=H,
    )
    assert issued.status_code == 201
    return bearer((await issued.get_json())["token"])


async def _spawn(client: Any, orchestrator_id: str, cwd: str) -> None:
    response = await client.post(
        f"/api/orchestrators/{orchestrator_id}/spawn",
        json={"provider": "codex", "cwd": cwd},
        headers=H,
    )
    assert response.status_code == 202


async def test_an_agent_token_naming_its_orchestrator_does_not_become_the_orchestrator(
    client: Any,
) -> None:
    """An agent's token ({orchestrators: [o1], agents: [a1]}) is not o1: it does not
    re-register o1 and walk away with o1's runtime token, which acts for every agent of o1
    (here: reads sibling b1's inbox)."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await _agent(client, "a1", "o1")
    await _agent(client, "b1", "o1")
    agent = await _provider_agent_token(client, "a1", "o1")
    assert (await client.get("/api/agents/b1/inbox?peek=true", headers=agent)).status_code == 403

    response = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/srv/o1"}, headers=agent
    )
    if response.status_code == 200:
        wider = bearer((await response.get_json())["token"])
        sibling = await client.get("/api/agents/b1/inbox?peek=true", headers=wider)
        assert sibling.status_code == 403, "agent-a1's token re-registered o1 and reads b1's inbox"
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}


async def test_an_agent_token_naming_its_orchestrator_does_not_take_its_queue(
    client: Any,
) -> None:
    """Nor does it take o1's command queue: spawns carry each session's runner token,
    unredacted."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await _agent(client, "a1", "o1")
    await _spawn(client, "o1", "/srv/o1/x")
    agent = await _provider_agent_token(client, "a1", "o1")
    response = await client.get("/api/orchestrators/o1/commands", headers=agent)
    if response.status_code == 200:
        taken = await response.get_json()
        runner_tokens = [c["params"].get("runnerToken") for c in taken]
        assert not any(runner_tokens), f"agent-a1 took o1's queue: {len(taken)} command(s)"
    assert response.status_code == 403


async def test_an_agent_token_naming_its_orchestrator_does_not_report_for_it(
    client: Any,
) -> None:
    """Nor does it send o1's heartbeat, which would also let it re-mint o1's runners'
    tokens (the same check)."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await _agent(client, "a1", "o1")
    agent = await _provider_agent_token(client, "a1", "o1")
    response = await client.post("/api/orchestrators/o1/heartbeat", json={}, headers=agent)
    assert response.status_code == 403


async def test_an_agent_bound_token_cannot_mint_an_orchestrator_token_for_a_new_orchestrator(
    client: Any, mint: Any
) -> None:
    """A token bound to agent a1 with agent:write registers no other agent; registering a
    brand-new orchestrator must not hand it a token that does (with the orchestrator
    profile's scopes, which it does not hold)."""
    agent = bearer(mint(["agent:read", "agent:write"], {"agents": ["a1"]}, sub="a1"))
    direct = await client.post("/api/agents", json={"id": "a2"}, headers=agent)
    assert direct.status_code == 403

    response = await client.post(
        "/api/orchestrators", json={"id": "o-new", "baseDir": "/"}, headers=agent
    )
    if response.status_code == 201:
        wider = bearer((await response.get_json())["token"])
        escaped = await client.post(
            "/api/agents", json={"id": "a2", "orchestratorId": "o-new"}, headers=wider
        )
        assert escaped.status_code == 403, "a1-bound token registered agent a2 through o-new"
    assert response.status_code == 403
    missing = await client.get("/api/orchestrators/o-new", headers=H)
    assert missing.status_code == 404


async def test_an_agent_bound_token_cannot_squat_a_future_orchestrator(
    client: Any, mint: Any
) -> None:
    """With a predictable id: an agent-bound token registering o9 before o9's daemon has
    would keep the runtime token (a re-registration does not revoke it) and act for every
    agent the real o9 later runs."""
    agent = bearer(mint(["agent:read", "agent:write"], {"agents": ["a1"]}, sub="a1"))
    squat = await client.post(
        "/api/orchestrators", json={"id": "o9", "baseDir": "/"}, headers=agent
    )
    await register_orchestrator(client, "o9", "/srv/o9")
    await _agent(client, "b9", "o9")
    if squat.status_code == 201:
        squatter = bearer((await squat.get_json())["token"])
        inbox = await client.get("/api/agents/b9/inbox?peek=true", headers=squatter)
        assert inbox.status_code == 403, "a1-bound token squatted o9 and reads b9's inbox"
    assert squat.status_code == 403


async def test_a_token_limited_by_cwd_only_cannot_squat_a_future_orchestrator(
    client: Any, mint: Any
) -> None:
    """A token limited by ``cwd`` alone names no orchestrator: registering o9 first with a
    baseDir inside its prefix would give it o9's runtime token, which acts for the agents
    the real o9 later runs wherever its baseDir is."""
    token = bearer(mint(list(ORCHESTRATOR.scope), {"cwd": ["/srv/work"]}, role="orchestrator"))
    squat = await client.post(
        "/api/orchestrators", json={"id": "o9", "baseDir": "/srv/work/o9"}, headers=token
    )
    assert squat.status_code == 403
    assert (await client.get("/api/orchestrators/o9", headers=H)).status_code == 404


async def test_a_token_naming_the_orchestrator_cannot_mint_scopes_it_lacks(
    client: Any, mint: Any
) -> None:
    """A constrained caller gets no runtime token wider than itself: the orchestrator
    profile's scopes, within its own constraints (``grants.check_grantable``)."""
    await register_orchestrator(client, "o1", "/srv/o1")
    narrow = bearer(mint(["agent:write"], {"orchestrators": ["o1"], "cwd": ["/srv/o1"]}))
    response = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/srv/o1"}, headers=narrow
    )
    assert response.status_code == 403
    limited = bearer(
        mint(list(ORCHESTRATOR.scope), {"orchestrators": ["o1"], "policyNames": ["p1"]})
    )
    response = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/srv/o1"}, headers=limited
    )
    assert response.status_code == 403


async def test_the_runtime_token_re_registers_its_orchestrator_and_takes_its_queue(
    client: Any,
) -> None:
    """The real daemon's runtime token ({orchestrators: [o1], cwd: [baseDir]}) is o1: it
    re-registers o1 (200, a fresh runtime token) and takes o1's queue."""
    own = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    response = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/srv/o1"}, headers=own
    )
    assert response.status_code == 200
    renewed = bearer((await response.get_json())["token"])
    await _spawn(client, "o1", "/srv/o1/x")
    [spawn] = await poll(client, "o1", headers=renewed)
    assert spawn["type"] == "agent.spawn"
    assert spawn["params"]["runnerToken"] != "[redacted]"


async def test_root_registers_a_new_orchestrator(client: Any) -> None:
    response = await client.post(
        "/api/orchestrators", json={"id": "o-new", "baseDir": "/srv/new"}, headers=H
    )
    assert response.status_code == 201
    assert (await response.get_json())["token"]


@pytest.mark.parametrize("constraints", [None, {"orchestrators": ["o-new"]}])
async def test_a_daemon_bootstrap_token_registers_a_new_orchestrator(
    client: Any, mint: Any, constraints: dict[str, list[str]] | None
) -> None:
    """A daemon's first start: ``relay token create --profile orchestrator``, unconstrained
    or pinned to its id (``--constraint orchestrators=ID``), registers it (201)."""
    scope = list(ORCHESTRATOR.scope)
    token = bearer(mint(scope, constraints, sub="orchestrator:o-new", role="orchestrator"))
    response = await client.post(
        "/api/orchestrators", json={"id": "o-new", "baseDir": "/srv/new"}, headers=token
    )
    assert response.status_code == 201, await response.get_json()


async def test_an_unconstrained_token_cannot_mint_scopes_it_lacks(client: Any, mint: Any) -> None:
    """A token without constraints but with ``agent:write`` alone would be handed the
    runtime token's ``message:read`` over every agent the orchestrator runs."""
    narrow = bearer(mint(["agent:read", "agent:write"], None))
    for orchestrator_id in ("o-new", "o1"):
        if orchestrator_id == "o1":
            await register_orchestrator(client, "o1", "/srv/o1")
        response = await client.post(
            "/api/orchestrators",
            json={"id": orchestrator_id, "baseDir": f"/srv/{orchestrator_id}"},
            headers=narrow,
        )
        assert response.status_code == 403, orchestrator_id
        assert "cannot grant scope" in (await response.get_json())["error"]


@pytest.mark.parametrize("constraints", [None, {"orchestrators": ["o1"], "cwd": ["/srv/o1"]}])
async def test_an_orchestrator_token_older_than_a_profile_scope_re_registers(
    client: Any, services: Services, mint: Any, constraints: dict[str, list[str]] | None
) -> None:
    """A daemon's token (its bootstrap token, unconstrained, or its kept runtime token)
    minted before the orchestrator profile gained a scope: its re-registration after the
    relay's upgrade still succeeds, and the runtime token it gets carries no scope it did
    not hold."""
    await register_orchestrator(client, "o1", "/srv/o1")
    older = [entry for entry in ORCHESTRATOR.scope if entry != "memory:write"]
    token = bearer(mint(older, constraints, sub="orchestrator:o1", role="orchestrator"))
    response = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/srv/o1"}, headers=token
    )
    assert response.status_code == 200, await response.get_json()
    runtime = (await response.get_json())["token"]
    assert sorted(services.auth.verify(runtime).scope) == sorted(older)
    heartbeat = await client.post("/api/orchestrators/o1/heartbeat", headers=bearer(runtime))
    assert heartbeat.status_code == 200
