"""The steward config is relay-wide (its ``autoMerge`` reaches every owner's repositories):
only a caller without constraints writes it, through either route; reading it is as
before (``relay.http.config_auth``)."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer, root_headers
from tests.http.helpers import poll, register_orchestrator
from tests.http.test_workspaces import get_ws, make_workspace

H = root_headers()
URL = "/api/steward-config"
GENERIC = "/api/config/steward/global"
SCOPES = ["config:read", "config:write"]


async def test_a_constrained_token_does_not_rewrite_the_relay_wide_steward_config(
    client: Any, mint: Any
) -> None:
    """A token limited to orchestrator o1 turning on autoMerge would have the auto-merge
    job merge o2's workspaces."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    await make_workspace(client, "w2", "/srv/o2/repo", orchestratorId="o2")
    limited = bearer(mint(SCOPES, {"orchestrators": ["o1"]}))
    steward = await client.put(URL, json={"autoMerge": True}, headers=limited)
    generic = await client.put(GENERIC, json={"value": {"autoMerge": True}}, headers=limited)
    run = await client.post("/api/maintenance/jobs/auto-merge/run", headers=H)
    assert run.status_code == 200
    merged_on_o2 = [c["type"] for c in await poll(client, "o2")]
    assert (steward.status_code, generic.status_code, merged_on_o2) == (403, 403, []), (
        await get_ws(client, "w2")
    )["status"]
    assert await steward.get_json() == {"error": "forbidden"}


async def test_a_constrained_token_does_not_delete_the_steward_config(
    client: Any, mint: Any
) -> None:
    assert (
        await client.put(URL, json={"autoMerge": ["/srv/o1/repo"]}, headers=H)
    ).status_code == 201
    limited = bearer(mint(SCOPES, {"cwd": ["/srv/o1"]}))
    response = await client.delete(GENERIC, headers=limited)
    assert (response.status_code, await response.get_json()) == (403, {"error": "forbidden"})
    assert (await (await client.get(URL, headers=H)).get_json())["version"] == 1


async def test_a_constrained_token_still_reads_the_steward_config(client: Any, mint: Any) -> None:
    await client.put(URL, json={"autoMerge": False}, headers=H)
    limited = bearer(mint(["config:read"], {"orchestrators": ["o1"]}))
    for url in (URL, GENERIC, f"{GENERIC}/history"):
        assert (await client.get(url, headers=limited)).status_code == 200


async def test_root_and_an_unconstrained_token_write_the_steward_config(
    client: Any, mint: Any
) -> None:
    assert (await client.put(URL, json={"autoMerge": True}, headers=H)).status_code == 201
    writer = bearer(mint(SCOPES, sub="steward-bot"))
    response = await client.put(GENERIC, json={"value": {"autoMerge": False}}, headers=writer)
    entry = await response.get_json()
    assert (response.status_code, entry["version"], entry["updatedBy"]) == (200, 2, "steward-bot")
    assert (await client.put(URL, json={"autoMerge": True}, headers=writer)).status_code == 200
    assert (await client.delete(GENERIC, headers=H)).status_code == 200
