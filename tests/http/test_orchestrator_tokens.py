"""The runtime token an orchestrator registration mints is a token record: listed in
``GET /api/tokens`` (profile ``orchestrator``), revocable with ``DELETE /api/tokens/:jti``.

A re-registration mints a new one and leaves the previous one to expire (the daemon
re-registers with it while its channel and requests are in flight on it).
"""

from __future__ import annotations

from typing import Any

import pytest

from relay.clock import ManualClock
from relay.errors import Unavailable
from relay.http.services import Services
from relay.store import tokens as token_store
from tests.conftest import bearer
from tests.http.helpers import H, poll, register_orchestrator


async def records(client: Any, sub: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/tokens?sub={sub}", headers=H)
    assert response.status_code == 200
    listed: list[dict[str, Any]] = await response.get_json()
    return listed


async def test_the_registration_token_is_listed(
    client: Any, services: Services, clock: ManualClock
) -> None:
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    claims = services.auth.verify(token)
    [record] = await records(client, "orchestrator:o1")
    assert record == {
        "jti": claims.jti,
        "sub": "orchestrator:o1",
        "role": "orchestrator",
        "scope": list(claims.scope),
        "constraints": {"orchestrators": ["o1"], "cwd": ["/srv/o1"]},
        "profileId": "orchestrator",
        "createdBy": "registration:o1",
        "createdAt": clock.now_ms(),
        "expiresAt": claims.exp * 1000,
        "revokedAt": None,
    }


async def test_a_revoked_registration_token_gets_401(client: Any, services: Services) -> None:
    token = (await register_orchestrator(client, "o1"))["token"]
    heartbeat = await client.post("/api/orchestrators/o1/heartbeat", headers=bearer(token))
    assert heartbeat.status_code == 200
    jti = services.auth.verify(token).jti
    response = await client.delete(f"/api/tokens/{jti}", headers=H)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["record"]["revokedAt"] is not None
    heartbeat = await client.post("/api/orchestrators/o1/heartbeat", headers=bearer(token))
    assert heartbeat.status_code == 401
    assert await heartbeat.get_json() == {"error": "unauthorized"}
    [record] = await records(client, "orchestrator:o1")
    assert record["revokedAt"] is not None


async def test_a_re_registration_leaves_the_previous_token_valid(
    client: Any, services: Services
) -> None:
    first = (await register_orchestrator(client, "o1"))["token"]
    # The daemon re-registers with the token it kept.
    response = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/srv/o1"}, headers=bearer(first)
    )
    assert response.status_code == 200
    second = (await response.get_json())["token"]
    assert second != first
    listed = await records(client, "orchestrator:o1")
    assert {record["jti"] for record in listed} == {
        services.auth.verify(first).jti,
        services.auth.verify(second).jti,
    }
    assert all(record["revokedAt"] is None for record in listed)
    for token in (first, second):
        heartbeat = await client.post("/api/orchestrators/o1/heartbeat", headers=bearer(token))
        assert heartbeat.status_code == 200


async def test_a_registration_token_renews_with_its_profile(client: Any) -> None:
    token = (await register_orchestrator(client, "o1"))["token"]
    response = await client.post("/api/runtime-tokens/renew", headers=bearer(token))
    assert response.status_code == 201
    record = (await response.get_json())["record"]
    assert (record["sub"], record["profileId"]) == ("orchestrator:o1", "orchestrator")


async def test_no_token_is_handed_out_when_its_record_cannot_be_stored(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(_record: Any) -> None:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(token_store, "insert", refused)
    response = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/srv/o1"}, headers=H
    )
    assert response.status_code == 503
    assert await response.get_json() == {"error": "store unavailable"}
    monkeypatch.undo()
    assert await records(client, "orchestrator:o1") == []
    # The daemon retries the registration, which is idempotent on the id.
    token = (await register_orchestrator(client, "o1"))["token"]
    [record] = await records(client, "orchestrator:o1")
    assert record["jti"] == services.auth.verify(token).jti


async def test_only_the_orchestrator_itself_re_registers_it(client: Any, mint: Any) -> None:
    """A registration hands out the orchestrator's runtime token: a token that merely
    has no constraint excluding o1 (an agent's, {agents: [a1]}) is not o1, and neither
    re-registers it (moving its baseDir) nor gets a token acting for o1's agents."""
    runtime = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    response = await client.post(
        "/api/agents", json={"id": "b1", "orchestratorId": "o1"}, headers=H
    )
    assert response.status_code == 201
    agent = bearer(mint(["agent:read", "agent:write"], {"agents": ["a1"]}, sub="a1"))
    response = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/"}, headers=agent
    )
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}
    stored = await (await client.get("/api/orchestrators/o1", headers=H)).get_json()
    assert stored["baseDir"] == "/srv/o1"
    # Its own runtime token re-registers it.
    own = bearer(runtime)
    response = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/srv/o1"}, headers=own
    )
    assert response.status_code == 200


async def test_only_the_orchestrator_itself_reports_its_heartbeat_and_sessions(
    client: Any, mint: Any
) -> None:
    """An orchestrator's heartbeat and managed sessions are its own report: an agent's
    token, which no orchestrators constraint keeps from o1, neither keeps o1 online nor
    rewrites which sessions it manages (whom agent actions and wakes are routed to)."""
    o1 = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    agent = bearer(mint(["agent:read", "agent:write"], {"agents": ["a1"]}, sub="a1"))
    claim = {"managedAgents": [{"agentId": "a1", "sessionName": "s-a1"}]}
    response = await client.post("/api/orchestrators/o1/heartbeat", json=claim, headers=agent)
    assert response.status_code == 403
    response = await client.patch("/api/orchestrators/o1/agents", json=claim, headers=agent)
    assert response.status_code == 403
    stored = await (await client.get("/api/orchestrators/o1", headers=H)).get_json()
    assert stored["managedAgents"] == []
    response = await client.post("/api/orchestrators/o1/heartbeat", json=claim, headers=o1)
    assert response.status_code == 200


async def test_a_runner_token_is_not_its_orchestrator(client: Any) -> None:
    """A spawned session's runner token names its orchestrator in ``constraints.
    orchestrators`` (that is how it finds its own agents), yet it is an agent's token, not
    the orchestrator: it neither re-registers o1 (taking o1's runtime token, which acts
    for every agent of o1), nor takes o1's queue (other spawns' runner tokens), nor
    reports o1's heartbeat, as it may not re-mint o1's runners' tokens either."""
    o1 = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    for cwd in ("/srv/o1/x", "/srv/o1/y"):
        response = await client.post(
            "/api/orchestrators/o1/spawn", json={"provider": "codex", "cwd": cwd}, headers=H
        )
        assert response.status_code == 202
    response = await client.get("/api/orchestrators/o1/commands?limit=1", headers=o1)
    [first] = await response.get_json()
    runner = bearer(first["params"]["runnerToken"])
    response = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/srv/o1"}, headers=runner
    )
    assert response.status_code == 403
    response = await client.get("/api/orchestrators/o1/commands", headers=runner)
    assert response.status_code == 403
    response = await client.post("/api/orchestrators/o1/heartbeat", json={}, headers=runner)
    assert response.status_code == 403
    [second] = await poll(client, "o1", headers=o1)
    assert second["params"]["runnerToken"] != first["params"]["runnerToken"]
