"""Token admin: POST/GET/DELETE /api/tokens, profiles, validation, revocation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relay.auth.profiles import PROFILES
from relay.clock import ManualClock
from relay.http.app import create_app
from relay.settings import Settings
from tests.conftest import bearer, root_headers

H = root_headers()
ALL_SCOPES = (
    "agent:read, agent:write, command:read, command:write, config:read, config:write, "
    "activity:read, activity:write, token:admin, message:read, message:write, task:read, "
    "task:write, memory:read, memory:write"
)


async def create(client: Any, headers: dict[str, str] | None = None, **body: Any) -> Any:
    return await client.post("/api/tokens", json=body, headers=headers or H)


async def issued(client: Any, **body: Any) -> tuple[str, dict[str, Any]]:
    response = await create(client, **body)
    assert response.status_code == 201, await response.get_json()
    data = await response.get_json()
    return data["token"], data["record"]


async def test_create_returns_token_and_record(client: Any, clock: ManualClock) -> None:
    token, record = await issued(
        client,
        sub="ci-bot",
        role="integration",
        scope=["agent:read", "activity:write"],
        constraints={"agents": ["a1"], "cwd": ["/srv/repo/"]},
        ttlSeconds=600,
    )
    assert record == {
        "jti": record["jti"],
        "sub": "ci-bot",
        "role": "integration",
        "scope": ["agent:read", "activity:write"],
        "constraints": {"agents": ["a1"], "cwd": ["/srv/repo"]},
        "profileId": None,
        "createdBy": "root",
        "createdAt": clock.now_ms(),
        "expiresAt": clock.now_ms() + 600_000,
        "revokedAt": None,
    }
    response = await client.get("/api/agents", headers=bearer(token))
    assert response.status_code == 200


async def test_created_token_honours_its_ttl(client: Any, clock: ManualClock) -> None:
    token, _ = await issued(client, sub="s", role="r", scope=["agent:read"], ttlSeconds=60)
    clock.advance(60)
    response = await client.get("/api/agents", headers=bearer(token))
    assert response.status_code == 401
    assert await response.get_json() == {"error": "token expired"}


async def test_default_ttl_is_the_setting(client: Any, clock: ManualClock) -> None:
    _, record = await issued(client, sub="s", role="r", scope=["agent:read"])
    assert record["expiresAt"] - record["createdAt"] == 86_400_000


async def test_created_token_holds_only_its_scope(client: Any) -> None:
    token, _ = await issued(client, sub="s", role="r", scope=["agent:read"])
    response = await client.post("/api/agents", json={"id": "a1"}, headers=bearer(token))
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}


@pytest.mark.parametrize("profile", sorted(PROFILES))
async def test_profile_supplies_role_and_scope(client: Any, profile: str) -> None:
    _, record = await issued(client, sub="s", profile=profile)
    assert record["role"] == PROFILES[profile].role
    assert record["scope"] == list(PROFILES[profile].scope)
    assert record["profileId"] == profile


def test_profiles_default_scopes() -> None:
    assert PROFILES["provider-agent"].scope == (
        "agent:read",
        "agent:write",
        "command:read",
        "command:write",
        "activity:write",
        "config:read",
        "message:read",
        "message:write",
        "task:read",
        "task:write",
        "memory:read",
        "memory:write",
    )
    assert "activity:read" in PROFILES["orchestrator"].scope
    assert "message:write" in PROFILES["orchestrator"].scope
    assert set(PROFILES["integration"].scope) == {
        "agent:read",
        "command:read",
        "activity:read",
        "activity:write",
    }
    assert len(PROFILES["dashboard"].scope) == 14
    assert (PROFILES["mcp"].role, set(PROFILES["mcp"].scope)) == (
        "mcp",
        {
            "agent:read",
            "message:read",
            "message:write",
            "task:read",
            "task:write",
            "memory:read",
            "memory:write",
        },
    )
    assert all("token:admin" not in profile.scope for profile in PROFILES.values())


async def test_explicit_role_and_scope_override_the_profile(client: Any) -> None:
    _, record = await issued(
        client, sub="s", profile="orchestrator", role="scheduler", scope=["command:read"]
    )
    assert (record["role"], record["scope"], record["profileId"]) == (
        "scheduler",
        ["command:read"],
        "orchestrator",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"role": "r", "scope": ["agent:read"]}, "sub is required"),
        ({"sub": "", "role": "r", "scope": ["agent:read"]}, "sub must not be empty"),
        ({"sub": "s", "scope": ["agent:read"]}, "role is required"),
        ({"sub": "s", "role": "r"}, "scope is required"),
        ({"sub": "s", "role": "r", "scope": []}, "scope must not be empty"),
        ({"sub": "s", "role": "r", "scope": "agent:read"}, "scope must be an array"),
        ({"sub": "s", "role": "r", "scope": [1]}, "scope.0 must be a string"),
        (
            {"sub": "s", "role": "r", "scope": ["agent:read", "root"]},
            f'unknown scope "root"; scopes are {ALL_SCOPES}',
        ),
        (
            {"sub": "s", "role": "r", "scope": ["agent:read"], "constraints": {"hosts": ["h"]}},
            'unknown constraint "hosts"; constraints are '
            "agents, orchestrators, cwd, policyNames, spawnRequestIds",
        ),
        (
            {"sub": "s", "role": "r", "scope": ["agent:read"], "constraints": ["agents"]},
            "constraints must be an object",
        ),
        (
            {"sub": "s", "role": "r", "scope": ["agent:read"], "constraints": {"agents": "a1"}},
            "constraints.agents must be an array",
        ),
        (
            {"sub": "s", "role": "r", "scope": ["agent:read"], "constraints": {"cwd": ["x/y"]}},
            "constraints.cwd entries must be absolute paths",
        ),
        (
            {"sub": "s", "role": "r", "scope": ["agent:read"], "ttlSeconds": 0},
            "ttlSeconds must be at least 1",
        ),
        (
            {"sub": "s", "role": "r", "scope": ["agent:read"], "ttlSeconds": 400 * 86_400},
            "ttlSeconds must be at most 31536000",
        ),
        (
            {"sub": "s", "profile": "admin"},
            "profile must be one of provider-agent, orchestrator, integration, dashboard, mcp",
        ),
        (
            {"sub": "s", "role": "root", "scope": ["agent:read"]},
            "role root is reserved for the root credential",
        ),
    ],
)
async def test_invalid_request_names_the_field(
    client: Any, body: dict[str, Any], message: str
) -> None:
    response = await client.post("/api/tokens", json=body, headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": message}


async def test_create_needs_a_body(client: Any) -> None:
    response = await client.post("/api/tokens", data="nope", headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": "invalid JSON body"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/tokens"), ("get", "/api/tokens"), ("delete", "/api/tokens/some-jti")],
)
async def test_admin_routes_need_token_admin(
    client: Any, mint: Any, method: str, path: str
) -> None:
    everything_else = [
        "agent:read",
        "agent:write",
        "command:read",
        "command:write",
        "config:read",
        "config:write",
        "activity:read",
        "activity:write",
    ]
    kwargs: dict[str, Any] = {"headers": bearer(mint(everything_else))}
    if method == "post":
        kwargs["json"] = {"sub": "s", "role": "r", "scope": ["agent:read"]}
    response = await getattr(client, method)(path, **kwargs)
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}

    anonymous = await getattr(client, method)(path)
    assert anonymous.status_code == 401
    assert await anonymous.get_json() == {"error": "unauthorized"}


async def test_token_admin_may_issue_what_it_holds(client: Any, mint: Any) -> None:
    admin = bearer(mint(["token:admin", "agent:read"], sub="ops"))
    response = await create(client, admin, sub="s", role="r", scope=["agent:read"])
    assert response.status_code == 201
    assert (await response.get_json())["record"]["createdBy"] == "ops"


async def test_token_admin_may_not_grant_a_scope_it_lacks(client: Any, mint: Any) -> None:
    admin = bearer(mint(["token:admin", "agent:read"]))
    response = await create(client, admin, sub="s", profile="dashboard")
    assert response.status_code == 403
    assert await response.get_json() == {
        "error": "cannot grant scope agent:write: the caller does not hold it"
    }


async def test_constrained_token_admin_may_not_widen(client: Any, mint: Any) -> None:
    admin = bearer(mint(["token:admin", "agent:read"], {"orchestrators": ["orch-a"]}))
    response = await create(client, admin, sub="s", role="r", scope=["agent:read"])
    assert response.status_code == 403
    assert await response.get_json() == {
        "error": "cannot grant orchestrators beyond the caller's own orchestrators constraint"
    }
    narrower = await create(
        client,
        admin,
        sub="test-component:s",  # a constrained grantor names its tokens after itself
        role="r",
        scope=["agent:read"],
        constraints={"orchestrators": ["orch-a"]},
    )
    assert narrower.status_code == 201


async def test_a_constrained_token_admin_sees_and_revokes_only_what_it_could_issue(
    client: Any, mint: Any
) -> None:
    # token:admin limited to orch-a manages the tokens it could have issued, no others:
    # orch-b's token is neither listed to it nor revoked by it.
    admin = bearer(mint(["token:admin", "agent:read"], {"orchestrators": ["orch-a"]}))
    theirs, their_record = await issued(
        client, sub="b", role="r", scope=["agent:read"], constraints={"orchestrators": ["orch-b"]}
    )
    _, unbounded = await issued(client, sub="u", role="r", scope=["agent:read"])
    _, own = await issued(
        client, sub="a", role="r", scope=["agent:read"], constraints={"orchestrators": ["orch-a"]}
    )
    listed = await (await client.get("/api/tokens", headers=admin)).get_json()
    assert [record["jti"] for record in listed] == [own["jti"]]
    for jti in (their_record["jti"], unbounded["jti"], "no-record-jti"):
        response = await client.delete(f"/api/tokens/{jti}", headers=admin)
        assert response.status_code == 403, jti
        assert await response.get_json() == {"error": "forbidden"}
    assert (await client.get("/api/agents", headers=bearer(theirs))).status_code == 200
    response = await client.delete(f"/api/tokens/{own['jti']}", headers=admin)
    assert response.status_code == 200


async def test_list_returns_records_and_never_token_strings(client: Any) -> None:
    tokens = [
        (await issued(client, sub=f"s{i}", role="r", scope=["agent:read"]))[0] for i in range(3)
    ]
    response = await client.get("/api/tokens", headers=H)
    assert response.status_code == 200
    records = await response.get_json()
    assert sorted(record["sub"] for record in records) == ["s0", "s1", "s2"]
    raw = json.dumps(records)
    assert all(token not in raw for token in tokens)
    assert all(token.split(".")[2] not in raw for token in tokens)  # not even the signature
    assert all("token" not in record for record in records)


async def test_list_filters_by_sub(client: Any) -> None:
    await issued(client, sub="a", role="r", scope=["agent:read"])
    await issued(client, sub="b", role="r", scope=["agent:read"])
    response = await client.get("/api/tokens?sub=b", headers=H)
    assert [record["sub"] for record in await response.get_json()] == ["b"]


async def test_revoked_token_fails_on_the_very_next_request(
    client: Any, clock: ManualClock
) -> None:
    token, record = await issued(client, sub="s", role="r", scope=["agent:read"])
    assert (await client.get("/api/agents", headers=bearer(token))).status_code == 200

    clock.advance(1)
    response = await client.delete(f"/api/tokens/{record['jti']}", headers=H)
    assert response.status_code == 200
    body = await response.get_json()
    assert body["ok"] is True
    assert body["jti"] == record["jti"]
    assert body["record"]["revokedAt"] == clock.now_ms()

    refused = await client.get("/api/agents", headers=bearer(token))
    assert refused.status_code == 401
    assert await refused.get_json() == {"error": "unauthorized"}
    listed = await (await client.get("/api/tokens", headers=H)).get_json()
    assert listed[0]["revokedAt"] == clock.now_ms()


async def test_revoking_twice_keeps_the_first_time(client: Any, clock: ManualClock) -> None:
    _, record = await issued(client, sub="s", role="r", scope=["agent:read"])
    await client.delete(f"/api/tokens/{record['jti']}", headers=H)
    first = clock.now_ms()
    clock.advance(5)
    again = await client.delete(f"/api/tokens/{record['jti']}", headers=H)
    assert again.status_code == 200
    assert (await again.get_json())["record"]["revokedAt"] == first


async def test_token_without_record_can_be_revoked_by_jti(
    client: Any, mint: Any, services: Any
) -> None:
    token = mint(["agent:read"])
    jti = services.auth.verify(token).jti
    response = await client.delete(f"/api/tokens/{jti}", headers=H)
    assert response.status_code == 200
    assert await response.get_json() == {"ok": True, "jti": jti, "record": None}
    refused = await client.get("/api/agents", headers=bearer(token))
    assert refused.status_code == 401
    assert await refused.get_json() == {"error": "unauthorized"}


async def test_overlong_jti_is_refused(client: Any) -> None:
    response = await client.delete(f"/api/tokens/{'j' * 65}", headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": "jti must be at most 64 characters"}


async def test_revocation_survives_a_restart(
    client: Any, settings: Settings, clock: ManualClock
) -> None:
    token, record = await issued(client, sub="s", role="r", scope=["agent:read"])
    await client.delete(f"/api/tokens/{record['jti']}", headers=H)
    # A second app on the same database loads the deny-list when it starts.
    restarted = create_app(settings, clock=clock)
    async with restarted.test_app() as second:
        response = await second.test_client().get("/api/agents", headers=bearer(token))
        assert response.status_code == 401
        assert await response.get_json() == {"error": "unauthorized"}


async def test_issue_and_revoke_are_audited(client: Any) -> None:
    _, record = await issued(client, sub="s", role="r", scope=["agent:read"])
    await client.delete(f"/api/tokens/{record['jti']}", headers=H)
    response = await client.get("/api/activity?view=security", headers=H)
    events = await response.get_json()
    assert [event["title"] for event in events] == ["Token revoked", "Token issued"]
    assert events[1]["metadata"] == {
        "jti": record["jti"],
        "role": "r",
        "scope": ["agent:read"],
        "sub": "s",
        "calledBy": "root",
    }
    assert events[0]["metadata"] == {"jti": record["jti"], "sub": "s", "calledBy": "root"}
    assert all(event["kind"] == "security" and event["icon"] == "ti-key" for event in events)
