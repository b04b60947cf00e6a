"""Spawn policies under a token's ``cwd`` constraint: judged on the policy as stored (and on
the value written), so a token limited to one area never reads, re-points or removes a
policy that spawns into another's (``relay.http.config_auth``)."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer, root_headers

H = root_headers()
URL = "/api/config/spawn-policies"
LIMITS = {"cwd": ["/srv/o1"]}


async def put_policy(client: Any, name: str, cwd: str, headers: Any = H, **body: Any) -> Any:
    value = {"provider": "claude", "cwd": cwd}
    return await client.put(f"{URL}/{name}", json={"value": value, **body}, headers=headers)


async def test_a_cwd_limited_token_does_not_read_change_or_delete_a_policy_outside_its_cwd(
    client: Any, mint: Any
) -> None:
    assert (await put_policy(client, "o2-nightly", "/srv/o2/app")).status_code == 201
    url = f"{URL}/o2-nightly"
    limited = bearer(mint(["config:read", "config:write"], LIMITS))
    listed = await (await client.get(URL, headers=limited)).get_json()
    statuses = {
        "list": [entry["key"] for entry in listed],
        "get": (await client.get(url, headers=limited)).status_code,
        "history": (await client.get(f"{url}/history", headers=limited)).status_code,
        # Re-pointed into its own cwd: the new value alone would pass.
        "put": (await put_policy(client, "o2-nightly", "/srv/o1/x", limited)).status_code,
        "delete": (await client.delete(url, headers=limited)).status_code,
    }
    assert statuses == {"list": [], "get": 403, "history": 403, "put": 403, "delete": 403}
    stored = await (await client.get(url, headers=H)).get_json()
    assert (stored["version"], stored["value"]["cwd"]) == (1, "/srv/o2/app")


async def test_a_cwd_limited_token_manages_a_policy_within_its_cwd(client: Any, mint: Any) -> None:
    limited = bearer(mint(["config:read", "config:write"], LIMITS))
    url = f"{URL}/mine"
    assert (await put_policy(client, "mine", "/srv/o1/app", limited)).status_code == 201
    listed = await (await client.get(URL, headers=limited)).get_json()
    assert [entry["key"] for entry in listed] == ["mine"]
    assert (await client.get(url, headers=limited)).status_code == 200
    changed = await put_policy(client, "mine", "/srv/o1/other", limited)
    assert (changed.status_code, (await changed.get_json())["version"]) == (200, 2)
    history = await client.get(f"{url}/history", headers=limited)
    assert [r["version"] for r in await history.get_json()] == [2, 1]
    deleted = await client.delete(url, headers=limited)
    assert (deleted.status_code, (await deleted.get_json())["version"]) == (200, 3)


async def test_a_cwd_limited_token_does_not_point_its_own_policy_outside_its_cwd(
    client: Any, mint: Any
) -> None:
    limited = bearer(mint(["config:read", "config:write"], LIMITS))
    assert (await put_policy(client, "mine", "/srv/o1/app", limited)).status_code == 201
    response = await put_policy(client, "mine", "/srv/o2/app", limited)
    assert (response.status_code, await response.get_json()) == (403, {"error": "forbidden"})


async def test_a_policy_that_spawned_outside_the_cwd_keeps_its_history_from_the_token(
    client: Any, mint: Any
) -> None:
    """The history shows every value the policy had: a token reads it only if it covers
    each of them, not just the current one."""
    await put_policy(client, "moved", "/srv/o2/app")
    await put_policy(client, "moved", "/srv/o1/app")
    limited = bearer(mint(["config:read", "config:write"], LIMITS))
    assert (await client.get(f"{URL}/moved", headers=limited)).status_code == 200
    assert (await client.get(f"{URL}/moved/history", headers=limited)).status_code == 403
    newest = await client.get(f"{URL}/moved/history?limit=1", headers=limited)
    assert newest.status_code == 200


async def test_a_cwd_limited_write_names_the_version_it_was_judged_on(
    client: Any, mint: Any
) -> None:
    """A write checked against the stored policy is pinned to the version checked (so a
    policy changed in between is refused, never overwritten unchecked): a stale
    ``expectedVersion`` is the same 409 as from any writer."""
    await put_policy(client, "mine", "/srv/o1/app")
    limited = bearer(mint(["config:read", "config:write"], LIMITS))
    stale = await put_policy(client, "mine", "/srv/o1/x", limited, expectedVersion=2)
    assert (stale.status_code, await stale.get_json()) == (
        409,
        {"error": "version conflict: current version is 1"},
    )
    fresh = await put_policy(client, "mine", "/srv/o1/x", limited, expectedVersion=1)
    assert fresh.status_code == 200


async def test_an_unconstrained_token_manages_any_policy(client: Any, mint: Any) -> None:
    assert (await put_policy(client, "o2-nightly", "/srv/o2/app")).status_code == 201
    writer = bearer(mint(["config:read", "config:write"]))
    url = f"{URL}/o2-nightly"
    assert (await client.get(f"{url}/history", headers=writer)).status_code == 200
    assert (await put_policy(client, "o2-nightly", "/srv/o3/app", writer)).status_code == 200
    assert (await client.delete(url, headers=writer)).status_code == 200


async def test_a_token_limited_to_agents_or_orchestrators_alone_writes_no_policy(
    client: Any, mint: Any
) -> None:
    """Policies are relay-wide: every host's restarts and automations spawn by them. A
    token limited to agents steers no host; one limited to orchestrators, with no
    ``policyNames`` or ``cwd`` to bound which policy or where, steers the others' too."""
    assert (await put_policy(client, "shared", "/srv/o2/app")).status_code == 201
    for constraints in ({"agents": ["a1"]}, {"orchestrators": ["o1"]}):
        token = bearer(mint(["config:read", "config:write"], constraints))
        for response in (
            await put_policy(client, "shared", "/srv/o1/app", token),
            await put_policy(client, "new", "/srv/o1/app", token),
            await client.delete(f"{URL}/shared", headers=token),
        ):
            assert (response.status_code, await response.get_json()) == (
                403,
                {"error": "forbidden"},
            ), constraints
    stored = await (await client.get(f"{URL}/shared", headers=H)).get_json()
    assert (stored["version"], stored["value"]["cwd"]) == (1, "/srv/o2/app")
    # Bounded by its own constraints, an orchestrator's runtime token still writes one.
    bounded = bearer(mint(["config:read", "config:write"], {"orchestrators": ["o1"], **LIMITS}))
    assert (await put_policy(client, "o1-nightly", "/srv/o1/app", bounded)).status_code == 201
