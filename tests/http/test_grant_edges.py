"""What a constrained ``token:admin`` may issue, and tokens too large to authenticate."""

from __future__ import annotations

from typing import Any

import pytest

from relay.auth.profiles import ORCHESTRATOR
from tests.conftest import bearer, root_headers
from tests.http.helpers import register_orchestrator

H = root_headers()


async def issue(client: Any, headers: dict[str, str], **body: Any) -> Any:
    return await client.post("/api/tokens", json=body, headers=headers)


async def spawn_with_policy(client: Any, policy: str) -> dict[str, Any]:
    response = await client.post(
        "/api/orchestrators/o1/spawn",
        json={"provider": "claude", "cwd": "/srv/o1/work", "policyName": policy},
        headers=H,
    )
    assert response.status_code == 202, await response.get_json()
    command: dict[str, Any] = (await response.get_json())["command"]
    return command


@pytest.mark.parametrize(("kind", "value"), [("policyNames", "p"), ("spawnRequestIds", "sp_mine")])
async def test_a_policy_limited_operator_cannot_mint_a_host_token_reading_other_policies_spawns(
    client: Any, mint: Any, kind: str, value: str
) -> None:
    """An operator limited to o1 *and* to one spawn policy (or spawn request) does not read
    o1's spawn of another policy (it carries that session's runner token). Minting itself
    an ``orchestrator`` token for o1 carrying the same constraints must not hand it that
    spawn: the minted token is o1 (``is_target``), which takes o1's whole queue
    regardless of ``policyNames`` / ``spawnRequestIds``."""
    await register_orchestrator(client, "o1", "/srv/o1")
    other = await spawn_with_policy(client, "q")
    scopes = ["token:admin", *ORCHESTRATOR.scope]
    grantor = bearer(
        mint(scopes, {"orchestrators": ["o1"], kind: [value]}, sub="ops", role="dashboard")
    )
    # The grantor itself may not read that spawn, nor take o1's queue.
    assert (await client.get(f"/api/commands/{other['id']}", headers=grantor)).status_code == 403
    assert (
        await client.get("/api/orchestrators/o1/commands?wait=0", headers=grantor)
    ).status_code == 403

    response = await issue(
        client,
        grantor,
        sub="ops:o1",
        role="orchestrator",
        scope=list(ORCHESTRATOR.scope),
        constraints={"orchestrators": ["o1"], kind: [value]},
    )
    # Refused: a host's token takes the host's whole queue, which the grantor may not read.
    refused = "cannot grant role orchestrator without agents: the caller does not act as widely"
    assert (response.status_code, await response.get_json()) == (403, {"error": refused})


async def test_an_issued_token_too_long_to_authenticate_is_refused_not_issued(
    client: Any,
) -> None:
    """Every constraint value passes (≤ 1024 characters, ≤ 1000 per kind), but the signed
    token is longer than the 8192 characters ``decode_signed`` accepts: the 201 hands out a
    credential that authenticates nothing (401 on every use). A request the relay cannot
    honour is a 400 naming the field, never a dead token."""
    paths = [f"/srv/{i:02d}/" + "x" * 1000 for i in range(10)]
    response = await issue(
        client, H, sub="s", role="r", scope=["agent:read"], constraints={"cwd": paths}
    )
    assert (response.status_code, await response.get_json()) == (
        400,
        {"error": "constraints too large: the token would exceed 8192 characters"},
    )
    records = await (await client.get("/api/tokens", headers=H)).get_json()
    assert [r for r in records if r["sub"] == "s"] == []
