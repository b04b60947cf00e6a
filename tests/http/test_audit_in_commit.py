"""Changes no actor owns (tokens, config) and their audit rows are one store write.

A failed audit row fails the change with it: nothing is issued, revoked or stored
unaudited, and the caller gets an error instead of a 2xx (it used to be swallowed).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.helpers import H, fail_audit_titled


async def titles(client: Any) -> list[str]:
    activity = await (await client.get("/api/activity?limit=200", headers=H)).get_json()
    return [event["title"] for event in activity]


async def tokens_of(client: Any, sub: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = await (
        await client.get(f"/api/tokens?sub={sub}", headers=H)
    ).get_json()
    return records


async def test_a_token_whose_audit_fails_is_not_issued(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"sub": "bot", "profile": "integration"}
    with monkeypatch.context() as patched:
        fail_audit_titled(patched, "Token issued")
        response = await client.post("/api/tokens", json=body, headers=H)
        assert response.status_code >= 500
    assert await tokens_of(client, "bot") == []
    assert "Token issued" not in await titles(client)

    response = await client.post("/api/tokens", json=body, headers=H)
    assert response.status_code == 201
    [record] = await tokens_of(client, "bot")
    assert record["jti"] == (await response.get_json())["record"]["jti"]
    assert (await titles(client)).count("Token issued") == 1


async def test_a_revocation_whose_audit_fails_is_not_stored(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = await client.post(
        "/api/tokens", json={"sub": "bot", "profile": "integration"}, headers=H
    )
    jti = (await issued.get_json())["record"]["jti"]
    with monkeypatch.context() as patched:
        fail_audit_titled(patched, "Token revoked")
        response = await client.delete(f"/api/tokens/{jti}", headers=H)
        assert response.status_code >= 500
    [record] = await tokens_of(client, "bot")
    assert record.get("revokedAt") is None
    assert "Token revoked" not in await titles(client)

    assert (await client.delete(f"/api/tokens/{jti}", headers=H)).status_code == 200
    assert (await titles(client)).count("Token revoked") == 1


async def test_a_steward_config_write_whose_audit_fails_is_not_stored(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await client.put("/api/steward-config", json={"autoMerge": False}, headers=H)
    assert first.status_code == 201
    with monkeypatch.context() as patched:
        fail_audit_titled(patched, "Steward config updated")
        response = await client.put("/api/steward-config", json={"autoMerge": True}, headers=H)
        assert response.status_code >= 500
    entry = await (await client.get("/api/steward-config", headers=H)).get_json()
    assert (entry["version"], entry["value"]) == (1, {"autoMerge": False})
    assert (await titles(client)).count("Steward config updated") == 1
