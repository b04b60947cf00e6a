"""Edges of the command channel and of component tokens: late reports, refused spawns and
restarts, renewals racing revocations."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from relay.actors.orchestrator import flows as orchestrator_flows
from relay.actors.orchestrator import reap_orchestrators
from relay.actors.orchestrator.messages import NOT_ONLINE
from relay.clock import ManualClock
from relay.errors import Conflict
from relay.http.services import Services
from relay.store import orchestrators as orchestrator_store
from relay.store import tokens as token_store
from tests.conftest import bearer
from tests.http.helpers import H, create_command, patch_command, register_orchestrator
from tests.http.test_agent_actions import act
from tests.http.test_agent_lifecycle_guard import managed_agent


async def test_result_for_a_command_past_its_ttl_is_refused(
    client: Any, clock: ManualClock
) -> None:
    """A command past its TTL is expired (``rules.is_expired``); the expiry job not having
    swept it yet must not let a late report settle it succeeded (and run its effects)."""
    await register_orchestrator(client)
    command = await create_command(client, ttlSeconds=1)
    clock.advance(5)
    response = await patch_command(client, command["id"], "succeeded", result={"ok": True})
    assert response.status_code == 409, await response.get_data()
    got = await (await client.get(f"/api/commands/{command['id']}", headers=H)).get_json()
    assert got["status"] == "expired"


async def test_spawn_refused_as_offline_mints_no_runner_token(
    client: Any, clock: ManualClock, services: Services
) -> None:
    """A 409 ``orchestrator is not online`` changes nothing: no live runner token and no
    token record is left behind by the refused spawn."""
    await register_orchestrator(client)
    clock.advance(400)
    await reap_orchestrators(services.runtime)
    before = await (await client.get("/api/tokens", headers=H)).get_json()
    response = await client.post(
        "/api/orchestrators/o1/spawn", json={"provider": "claude", "cwd": "/srv/o1"}, headers=H
    )
    assert response.status_code == 409
    after = await (await client.get("/api/tokens", headers=H)).get_json()
    assert [r["jti"] for r in after] == [r["jti"] for r in before]


async def test_renew_racing_a_revocation_issues_nothing(
    client: Any, services: Services, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token revoked while its renewal is in flight (after the request authenticated,
    before the new token is minted) must not yield a fresh, unrevoked token."""
    token = mint(["agent:read"], {"agents": ["a1"]})
    jti = services.auth.verify(token).jti
    load = token_store.load

    async def revoked_meanwhile(wanted: str) -> Any:
        # DELETE /api/tokens/:jti lands while the renewal reads the old record.
        services.auth.revoke(jti)
        return await load(wanted)

    monkeypatch.setattr(token_store, "load", revoked_meanwhile)
    response = await client.post("/api/runtime-tokens/renew", headers=bearer(token))
    assert response.status_code == 401, await response.get_data()


async def test_renew_of_a_token_revoked_in_the_store_only_issues_nothing(
    client: Any, services: Services, mint: Any
) -> None:
    """A revocation this process has not heard of (another relay's, committed first) is
    judged by the renewal's own write: nothing is stored, 401."""
    token = mint(["agent:read"], {"agents": ["a1"]})
    jti = services.auth.verify(token).jti
    await services.runtime.store.write(lambda: token_store.revoke(jti, now_ms=1, grace_ms=0))
    before = await (await client.get("/api/tokens", headers=H)).get_json()
    response = await client.post("/api/runtime-tokens/renew", headers=bearer(token))
    assert (response.status_code, await response.get_json()) == (401, {"error": "token revoked"})
    after = await (await client.get("/api/tokens", headers=H)).get_json()
    assert [r["jti"] for r in after] == [r["jti"] for r in before]


async def test_spawn_refused_as_the_host_goes_offline_revokes_its_runner_token(
    client: Any, clock: ManualClock, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host was read online, then its actor refuses (gone offline in between): the
    runner token minted meanwhile is revoked, as it is handed to nobody."""
    await register_orchestrator(client)
    load = orchestrator_store.load

    async def read_before_it_went_offline(orchestrator_id: str) -> Any:
        stored = await load(orchestrator_id)
        return None if stored is None else replace(stored, status="online")

    clock.advance(400)
    await reap_orchestrators(services.runtime)
    monkeypatch.setattr(orchestrator_store, "load", read_before_it_went_offline)
    before = {r["jti"] for r in await (await client.get("/api/tokens", headers=H)).get_json()}
    response = await client.post(
        "/api/orchestrators/o1/spawn", json={"provider": "claude", "cwd": "/srv/o1"}, headers=H
    )
    assert (response.status_code, await response.get_json()) == (
        409,
        {"error": "orchestrator is not online"},
    )
    records = await (await client.get("/api/tokens", headers=H)).get_json()
    minted = [r for r in records if r["jti"] not in before]
    assert [r["sub"][: len("runner:")] for r in minted] == ["runner:"]
    assert minted[0]["revokedAt"] is not None
    assert services.auth.is_revoked(minted[0]["jti"])


async def test_restart_refused_as_the_host_goes_offline_revokes_its_runner_token(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for a spawn: the restart's respawn carries a fresh runner token, minted before the
    host's actor refuses the command (gone offline in between). Handed to nobody, it is
    revoked, and the lifecycle is free again."""
    await managed_agent(client, ready=True)
    real = orchestrator_flows.enqueue_if_online

    async def gone_offline(rt: Any, spec: Any, **kwargs: Any) -> Any:
        raise Conflict(NOT_ONLINE)

    before = {r["jti"] for r in await (await client.get("/api/tokens", headers=H)).get_json()}
    monkeypatch.setattr(orchestrator_flows, "enqueue_if_online", gone_offline)
    response = await act(client, "restart")
    assert (response.status_code, await response.get_json()) == (409, {"error": NOT_ONLINE})
    records = await (await client.get("/api/tokens", headers=H)).get_json()
    minted = [r for r in records if r["jti"] not in before]
    assert [r["sub"][: len("runner:")] for r in minted] == ["runner:"]
    assert minted[0]["revokedAt"] is not None
    assert services.auth.is_revoked(minted[0]["jti"])
    monkeypatch.setattr(orchestrator_flows, "enqueue_if_online", real)
    assert (await act(client, "restart")).status_code == 202
