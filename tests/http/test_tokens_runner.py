"""POST /api/orchestrators/:id/runner-token: the orchestrator-mediated runner re-mint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import trio

from relay.actors.tokens.runner_tokens import mint_runner_token
from relay.auth.profiles import PROVIDER_AGENT
from relay.clock import ManualClock
from relay.http.services import Services
from tests.auth import forgery
from tests.conftest import SECRET, bearer, root_headers

DAY = 86_400
TTL = 86_400  # settings.token_ttl_seconds default


@pytest.fixture
def orch_a(mint: Any) -> dict[str, str]:
    """Orchestrator A's standing credential: command:write, constrained to A and its
    baseDir, as its runtime token is (a path below the baseDir would not be A)."""
    return bearer(
        mint(
            ["command:read", "command:write", "agent:read"],
            {"orchestrators": ["orch-a"], "cwd": ["/srv/orch-a"]},
            sub="orchestrator:orch-a",
            role="orchestrator",
            ttl=100 * DAY,  # outlives the runner tokens the tests let expire
        )
    )


@pytest.fixture
def orch_b(mint: Any) -> dict[str, str]:
    return bearer(
        mint(
            ["command:read", "command:write"],
            {"orchestrators": ["orch-b"]},
            sub="orchestrator:orch-b",
            role="orchestrator",
            ttl=100 * DAY,
        )
    )


async def runner_token(
    services: Services, orchestrator_id: str = "orch-a", spawn_request_id: str = "sp_1"
) -> str:
    token, _ = await mint_runner_token(
        services.auth,
        services.runtime,
        orchestrator_id=orchestrator_id,
        spawn_request_id=spawn_request_id,
        agent_id=f"agent-{spawn_request_id}",
    )
    return token


async def remint(client: Any, token: str, headers: dict[str, str], orch: str = "orch-a") -> Any:
    # The orchestrator exists (registering is idempotent): an unknown one's route is a 404.
    registered = await client.post(
        "/api/orchestrators", json={"id": orch, "baseDir": f"/srv/{orch}"}, headers=root_headers()
    )
    assert registered.status_code in (200, 201)
    return await client.post(
        f"/api/orchestrators/{orch}/runner-token", json={"token": token}, headers=headers
    )


async def assert_refused(response: Any, status: int, message: str) -> None:
    assert response.status_code == status
    assert await response.get_json() == {"error": message}


async def test_mint_runner_token_records_a_provider_token(
    client: Any, services: Services, clock: ManualClock
) -> None:
    token, record = await mint_runner_token(
        services.auth,
        services.runtime,
        orchestrator_id="orch-a",
        spawn_request_id="sp_9",
        agent_id="agent-sp_9",
    )
    claims = services.auth.verify(token)
    assert (claims.sub, claims.role) == ("runner:sp_9", "provider")
    assert claims.constraints == {"orchestrators": ["orch-a"], "agents": ["agent-sp_9"]}
    assert claims.scope == PROVIDER_AGENT.scope
    assert record.jti == claims.jti
    assert (record.profile_id, record.created_by) == ("provider-agent", "spawn:orch-a")
    listed = await (await client.get("/api/tokens", headers=root_headers())).get_json()
    assert [entry["jti"] for entry in listed] == [claims.jti]


async def test_expired_runner_token_is_reminted(
    client: Any, services: Services, clock: ManualClock, orch_a: dict[str, str]
) -> None:
    old = await runner_token(services)
    old_claims = services.auth.verify(old)
    clock.advance(TTL + 3 * DAY)
    await assert_refused(await client.get("/api/agents", headers=bearer(old)), 401, "token expired")

    response = await remint(client, old, orch_a)
    assert response.status_code == 201, await response.get_data()
    body = await response.get_json()
    new_claims = services.auth.verify(body["token"])
    assert new_claims.jti != old_claims.jti
    assert (new_claims.sub, new_claims.role) == ("runner:sp_1", "provider")
    assert new_claims.scope == old_claims.scope
    assert new_claims.constraints == old_claims.constraints
    assert new_claims.exp == clock.now_ms() // 1000 + TTL
    assert body["record"] == {
        "jti": new_claims.jti,
        "sub": "runner:sp_1",
        "role": "provider",
        "scope": list(old_claims.scope),
        "constraints": {"orchestrators": ["orch-a"], "agents": ["agent-sp_1"]},
        "profileId": "provider-agent",
        "createdBy": "orchestrator-remint:orch-a",
        "createdAt": clock.now_ms(),
        "expiresAt": clock.now_ms() + TTL * 1000,
        "revokedAt": None,
    }
    fresh = await client.get("/api/agents", headers=bearer(body["token"]))
    assert fresh.status_code == 200


async def test_old_record_is_marked_revoked(
    client: Any, services: Services, clock: ManualClock, orch_a: dict[str, str]
) -> None:
    old = await runner_token(services)
    old_jti = services.auth.verify(old).jti
    clock.advance(10)
    await remint(client, old, orch_a)
    records = await (await client.get("/api/tokens", headers=root_headers())).get_json()
    by_jti = {record["jti"]: record for record in records}
    assert by_jti[old_jti]["revokedAt"] == clock.now_ms()


async def test_live_runner_token_is_reminted_and_the_old_one_dies(
    client: Any, services: Services, orch_a: dict[str, str]
) -> None:
    old = await runner_token(services)
    assert (await remint(client, old, orch_a)).status_code == 201
    await assert_refused(await client.get("/api/agents", headers=bearer(old)), 401, "unauthorized")


@pytest.mark.parametrize(
    ("dead_for", "status"),
    [
        (29 * DAY, 201),
        (30 * DAY, 201),
        (30 * DAY + 1, 403),
        (31 * DAY, 403),
    ],
)
async def test_thirty_day_window(
    client: Any,
    services: Services,
    clock: ManualClock,
    orch_a: dict[str, str],
    dead_for: int,
    status: int,
) -> None:
    old = await runner_token(services)
    clock.advance(TTL + dead_for)
    response = await remint(client, old, orch_a)
    assert response.status_code == status
    if status == 403:
        assert await response.get_json() == {"error": "runner token expired too long ago"}


async def test_replay_after_remint_is_refused(
    client: Any, services: Services, clock: ManualClock, orch_a: dict[str, str]
) -> None:
    old = await runner_token(services)
    clock.advance(TTL + DAY)
    assert (await remint(client, old, orch_a)).status_code == 201
    await assert_refused(await remint(client, old, orch_a), 403, "invalid or revoked runner token")


async def test_concurrent_remints_of_one_token_yield_one_new_token(
    client: Any, services: Services, clock: ManualClock, orch_a: dict[str, str]
) -> None:
    old = await runner_token(services)
    clock.advance(TTL + DAY)
    statuses: list[int] = []

    async def attempt() -> None:
        statuses.append((await remint(client, old, orch_a)).status_code)

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(attempt)
    assert sorted(statuses) == [201] + [403] * 7


async def test_token_revoked_by_admin_cannot_be_reminted(
    client: Any, services: Services, orch_a: dict[str, str]
) -> None:
    old = await runner_token(services)
    jti = services.auth.verify(old).jti
    assert (await client.delete(f"/api/tokens/{jti}", headers=root_headers())).status_code == 200
    await assert_refused(await remint(client, old, orch_a), 403, "invalid or revoked runner token")


async def test_runner_of_a_presented_by_b_is_not_owned(
    client: Any, services: Services, orch_b: dict[str, str]
) -> None:
    old = await runner_token(services, "orch-a")
    await assert_refused(
        await remint(client, old, orch_b, orch="orch-b"),
        403,
        "runner token not owned by this orchestrator",
    )


async def test_orchestrator_a_cannot_call_b_route(
    client: Any, services: Services, orch_a: dict[str, str]
) -> None:
    old = await runner_token(services, "orch-b")
    await assert_refused(await remint(client, old, orch_a, orch="orch-b"), 403, "forbidden")


async def test_caller_without_command_write_is_forbidden(
    client: Any, services: Services, mint: Any
) -> None:
    old = await runner_token(services)
    caller = bearer(mint(["command:read", "agent:write"], {"orchestrators": ["orch-a"]}))
    await assert_refused(await remint(client, old, caller), 403, "forbidden")


async def test_anonymous_caller_is_unauthorized(client: Any, services: Services) -> None:
    old = await runner_token(services)
    response = await client.post("/api/orchestrators/orch-a/runner-token", json={"token": old})
    await assert_refused(response, 401, "unauthorized")


async def test_runner_token_cannot_call_the_remint_route(client: Any, services: Services) -> None:
    # A runner holds command:write within its orchestrator, but re-minting is the
    # orchestrator's job: a live runner renews itself through /api/runtime-tokens/renew.
    own = await runner_token(services, spawn_request_id="sp_own")
    other = await runner_token(services, spawn_request_id="sp_other")
    await assert_refused(await remint(client, other, bearer(own)), 403, "forbidden")


async def test_root_may_remint_for_any_orchestrator(client: Any, services: Services) -> None:
    old = await runner_token(services, "orch-z")
    response = await remint(client, old, root_headers(), orch="orch-z")
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("sub", "role"),
    [
        ("agent:a1", "provider"),
        ("orchestrator:orch-a", "provider"),
        ("runner:sp_1", "orchestrator"),
    ],
)
async def test_non_runner_tokens_are_refused(
    client: Any, mint: Any, orch_a: dict[str, str], sub: str, role: str
) -> None:
    token = mint(["agent:read"], {"orchestrators": ["orch-a"]}, sub=sub, role=role)
    await assert_refused(await remint(client, token, orch_a), 403, "not a runner token")


async def test_orchestrator_token_itself_is_not_a_runner_token(
    client: Any, orch_a: dict[str, str]
) -> None:
    own = orch_a["Authorization"].removeprefix("Bearer ")
    await assert_refused(await remint(client, own, orch_a), 403, "not a runner token")


async def test_runner_token_without_orchestrator_constraint_is_not_owned(
    client: Any, mint: Any, orch_a: dict[str, str]
) -> None:
    token = mint(["agent:read"], sub="runner:sp_1", role="provider")
    await assert_refused(
        await remint(client, token, orch_a), 403, "runner token not owned by this orchestrator"
    )


Forge = Callable[[str, int], str]

FORGERIES: dict[str, Forge] = {
    "tampered payload": lambda genuine, now: forgery.tampered(genuine, scope=["token:admin"]),
    "tampered orchestrators": lambda genuine, now: forgery.tampered(
        genuine, constraints={"orchestrators": ["orch-a"]}, sub="runner:other"
    ),
    "signature from another secret": lambda genuine, now: forgery.sign(
        forgery.OTHER_SECRET, forgery.claims(now)
    ),
    "alg none": lambda genuine, now: forgery.unsigned(forgery.claims(now)),
    "HS/RS confusion": lambda genuine, now: forgery.sign(SECRET, forgery.claims(now), alg="RS256"),
    "RS256 token": lambda genuine, now: forgery.rs256_with_garbage_signature(forgery.claims(now)),
    "missing sub": lambda genuine, now: forgery.sign(SECRET, forgery.claims(now, sub=None)),
    "missing role": lambda genuine, now: forgery.sign(SECRET, forgery.claims(now, role=None)),
    "missing jti": lambda genuine, now: forgery.sign(SECRET, forgery.claims(now, jti=None)),
    "missing exp": lambda genuine, now: forgery.sign(SECRET, forgery.claims(now, exp=None)),
    "not a JWT": lambda genuine, now: "garbage",
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_forged_runner_tokens_are_refused(
    client: Any, services: Services, clock: ManualClock, orch_a: dict[str, str], forge: Forge
) -> None:
    genuine = await runner_token(services)
    forged = forge(genuine, clock.now_ms() // 1000)
    await assert_refused(
        await remint(client, forged, orch_a), 403, "invalid or revoked runner token"
    )


async def test_hand_signed_control_token_is_accepted(
    client: Any, clock: ManualClock, orch_a: dict[str, str]
) -> None:
    # The forgeries above fail for their flaw, not for the way they are built.
    control = forgery.sign(SECRET, forgery.claims(clock.now_ms() // 1000))
    assert (await remint(client, control, orch_a)).status_code == 201


async def test_token_over_8192_chars_is_a_bad_request(
    client: Any, services: Services, orch_a: dict[str, str]
) -> None:
    genuine = await runner_token(services)
    padded = genuine + "A" * (8193 - len(genuine))
    await assert_refused(
        await remint(client, padded, orch_a), 400, "token must be at most 8192 characters"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "token is required"),
        ({"token": ""}, "token must not be empty"),
        ({"token": 5}, "token must be a string"),
    ],
)
async def test_bad_body_is_a_bad_request(
    client: Any, orch_a: dict[str, str], body: dict[str, Any], message: str
) -> None:
    response = await client.post(
        "/api/orchestrators/orch-a/runner-token", json=body, headers=orch_a
    )
    await assert_refused(response, 400, message)


async def test_remint_is_audited(
    client: Any, services: Services, clock: ManualClock, orch_a: dict[str, str]
) -> None:
    old = await runner_token(services)
    old_jti = services.auth.verify(old).jti
    clock.advance(TTL + DAY)
    new = await (await remint(client, old, orch_a)).get_json()
    response = await client.get("/api/activity?view=security", headers=root_headers())
    events = [e for e in await response.get_json() if e["title"] == "Runner token re-minted"]
    assert len(events) == 1
    event = events[0]
    assert (event["kind"], event["view"], event["icon"], event["body"]) == (
        "security",
        "security",
        "ti-key",
        "runner:sp_1",
    )
    assert event["metadata"] == {
        "orchestratorId": "orch-a",
        "jti": old_jti,
        "newJti": new["record"]["jti"],
        "sub": "runner:sp_1",
        "calledBy": "orchestrator:orch-a",
    }


async def test_unknown_orchestrator_is_404(client: Any, services: Services) -> None:
    token = await runner_token(services, "nope")
    response = await client.post(
        "/api/orchestrators/nope/runner-token", json={"token": token}, headers=root_headers()
    )
    await assert_refused(response, 404, "orchestrator not found")


async def test_a_token_not_naming_the_orchestrator_cannot_remint_its_runners(
    client: Any, services: Services, clock: ManualClock, mint: Any
) -> None:
    """Re-minting revives a dead credential of the orchestrator's session: an agent's
    token holding command:write, which no orchestrators constraint keeps from orch-a, is
    not orch-a, and gets no live runner token (a credential for orch-a) from a dead one."""
    old = await runner_token(services)
    clock.advance(TTL + 3 * DAY)
    agent = bearer(mint(["command:read", "command:write"], {"agents": ["a1"]}, sub="a1"))
    await assert_refused(await remint(client, old, agent), 403, "forbidden")


async def test_an_unbound_runner_token_is_bound_to_its_sessions_agent(
    client: Any, mint: Any, orch_a: dict[str, str], services: Services
) -> None:
    """A runner token minted before runner tokens named their agent (orchestrators only)
    is re-minted bound to the agent its session registered, never left reaching every
    session of its host; with no such agent it is not re-minted."""
    old = mint(["agent:read"], {"orchestrators": ["orch-a"]}, sub="runner:sp_old", role="provider")
    await assert_refused(await remint(client, old, orch_a), 403, "invalid or revoked runner token")
    for agent_id, spawn_request_id in (("agent-x", "sp_old"), ("agent-y", "sp_other")):
        registered = await client.post(
            "/api/agents",
            json={
                "id": agent_id,
                "orchestratorId": "orch-a",
                "meta": {"spawnRequestId": spawn_request_id},
            },
            headers=root_headers(),
        )
        assert registered.status_code == 201
    response = await remint(client, old, orch_a)
    assert response.status_code == 201, await response.get_data()
    claims = services.auth.verify((await response.get_json())["token"])
    assert claims.constraints == {"orchestrators": ["orch-a"], "agents": ["agent-x"]}
