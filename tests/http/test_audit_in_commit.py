"""Changes no actor owns (tokens, config) and their audit rows are one store write.

A failed audit row fails the change with it: nothing is issued, revoked or stored
unaudited, and the caller gets an error instead of a 2xx (it used to be swallowed).
"""

from __future__ import annotations

from typing import Any

import pytest

from relay.http.services import Services
from relay.store import stream as stream_store
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
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
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
    # Its "config-changed" event was in the failed commit too: only version 1's is stored.
    assert await config_events(services) == [1]


async def config_events(services: Services) -> list[int]:
    events = await services.runtime.store.run(lambda: stream_store.after(0, view="config"))
    return [event.data["version"] for event in events if event.event == "config-changed"]


async def test_a_config_delete_and_its_event_are_one_commit(
    client: Any, services: Services
) -> None:
    url = "/api/config/team/limits"
    assert (await client.put(url, json={"value": {"n": 1}}, headers=H)).status_code == 201
    assert (await client.delete(url, headers=H)).status_code == 200
    events = await services.runtime.store.run(lambda: stream_store.after(0, view="config"))
    changed = [e.data for e in events if e.event == "config-changed"]
    assert [(c["version"], c.get("deleted", False)) for c in changed] == [(1, False), (2, True)]


async def test_a_config_write_whose_event_fails_is_not_stored(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "/api/config/team/limits"
    append = stream_store.append

    async def refusing(event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "config-changed":
            raise RuntimeError("stream insert failed")
        return await append(event, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(stream_store, "append", refusing)
        response = await client.put(url, json={"value": {"n": 1}}, headers=H)
        assert response.status_code >= 500
    # The entry and its event are one commit: no entry that subscribers were never told of.
    assert (await client.get(url, headers=H)).status_code == 404
    assert (await client.put(url, json={"value": {"n": 1}}, headers=H)).status_code == 201
