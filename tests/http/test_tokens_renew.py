"""POST /api/runtime-tokens/renew: a live component token gets a fresh twin."""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from relay.http.services import Services
from tests.conftest import bearer, root_headers

H = root_headers()


async def renew(client: Any, token: str) -> Any:
    return await client.post("/api/runtime-tokens/renew", headers=bearer(token))


async def test_renew_clones_identity_with_a_fresh_jti(
    client: Any, services: Services, clock: ManualClock, mint: Any
) -> None:
    old = mint(
        ["agent:read", "command:write"],
        {"orchestrators": ["orch-a"], "cwd": ["/srv/a"]},
        sub="runner:sp_1",
        role="provider",
        ttl=600,
    )
    clock.advance(500)
    response = await renew(client, old)
    assert response.status_code == 201
    body = await response.get_json()
    before, after = services.auth.verify(old), services.auth.verify(body["token"])
    assert after.jti != before.jti
    assert (after.sub, after.role, after.scope, after.constraints) == (
        before.sub,
        before.role,
        before.scope,
        before.constraints,
    )
    assert after.exp - after.iat == 600  # the lifetime it was given
    assert body["record"]["createdBy"] == f"renew:{before.jti}"
    assert body["record"]["expiresAt"] == clock.now_ms() + 600_000

    clock.advance(200)  # the old token has expired by now; the new one has not
    assert (await client.get("/api/agents", headers=bearer(old))).status_code == 401
    assert (await client.get("/api/agents", headers=bearer(body["token"]))).status_code == 200


async def test_old_token_stays_valid_until_it_expires(client: Any, mint: Any) -> None:
    old = mint(["agent:read"])
    assert (await renew(client, old)).status_code == 201
    assert (await client.get("/api/agents", headers=bearer(old))).status_code == 200


async def test_renew_keeps_the_profile(client: Any) -> None:
    created = await client.post(
        "/api/tokens", json={"sub": "dash", "profile": "dashboard"}, headers=H
    )
    token = (await created.get_json())["token"]
    record = (await (await renew(client, token)).get_json())["record"]
    assert (record["sub"], record["role"], record["profileId"]) == (
        "dash",
        "dashboard",
        "dashboard",
    )
    listed = await (await client.get("/api/tokens?sub=dash", headers=H)).get_json()
    assert len(listed) == 2


async def test_root_cannot_renew(client: Any) -> None:
    response = await client.post("/api/runtime-tokens/renew", headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {
        "error": "the root token cannot be renewed; only component tokens expire"
    }


async def test_expired_token_cannot_renew(client: Any, clock: ManualClock, mint: Any) -> None:
    old = mint(["agent:read"], ttl=60)
    clock.advance(61)
    response = await renew(client, old)
    assert response.status_code == 401
    assert await response.get_json() == {"error": "token expired"}


async def test_revoked_token_cannot_renew(client: Any, services: Services, mint: Any) -> None:
    old = mint(["agent:read"])
    await client.delete(f"/api/tokens/{services.auth.verify(old).jti}", headers=H)
    response = await renew(client, old)
    assert response.status_code == 401
    assert await response.get_json() == {"error": "unauthorized"}


async def test_anonymous_cannot_renew(client: Any) -> None:
    response = await client.post("/api/runtime-tokens/renew")
    assert response.status_code == 401
    assert await response.get_json() == {"error": "unauthorized"}


async def test_renewed_token_has_no_more_than_the_original(
    client: Any, services: Services, mint: Any
) -> None:
    old = mint(["agent:read"], {"agents": ["a1"]})
    new = (await (await renew(client, old)).get_json())["token"]
    forbidden = await client.get("/api/agents/a2", headers=bearer(new))
    assert forbidden.status_code == 403
    assert await forbidden.get_json() == {"error": "forbidden"}
