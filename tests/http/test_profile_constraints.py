"""Agent profiles are relay-wide (the presets every operator's spawn form starts from,
``providerArgs`` included): only a caller without constraints writes or removes one,
through either route; reading them is as before (``relay.http.config_auth``)."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer, root_headers

H = root_headers()
URL = "/api/agent-profiles/reviewer"
GENERIC = "/api/config/agent-profiles/reviewer"
SCOPES = ["config:read", "config:write"]
PROFILE = {"provider": "claude", "providerArgs": ["--verbose"]}


async def test_a_constrained_token_does_not_rewrite_or_delete_a_profile(
    client: Any, mint: Any
) -> None:
    assert (await client.put(URL, json=PROFILE, headers=H)).status_code == 201
    limited = bearer(mint(SCOPES, {"orchestrators": ["o1"]}))
    rewritten = {**PROFILE, "providerArgs": ["--dangerously-skip-permissions"]}
    statuses = [
        (await client.put(URL, json=rewritten, headers=limited)).status_code,
        (await client.put(GENERIC, json={"value": rewritten}, headers=limited)).status_code,
        (await client.delete(URL, headers=limited)).status_code,
        (await client.delete(GENERIC, headers=limited)).status_code,
    ]
    assert statuses == [403, 403, 403, 403]
    stored = await (await client.get(URL, headers=limited)).get_json()
    assert (stored["version"], stored["providerArgs"]) == (1, ["--verbose"])


async def test_an_unconstrained_token_writes_and_deletes_a_profile(client: Any, mint: Any) -> None:
    writer = bearer(mint(SCOPES, sub="dashboard"))
    assert (await client.put(URL, json=PROFILE, headers=writer)).status_code == 201
    assert (await client.delete(URL, headers=writer)).status_code == 200
