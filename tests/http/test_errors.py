"""The spec's cross-cutting error table, row by row, through the test client.

Every error body is exactly ``{"error": msg}``: the tests compare whole bodies.
"""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import jwt
import jwt.warnings
import pytest
from quart_trio import QuartTrio

from relay.auth.tokens import TokenSpec
from relay.clock import ManualClock
from relay.http.services import Services
from tests.conftest import ROOT, SECRET, bearer, root_headers

H = root_headers()


# Every authenticated route of issue 4, with a body that would be valid for it.
ROUTES = [
    ("post", "/api/agents", {"id": "a1"}),
    ("get", "/api/agents", None),
    ("get", "/api/agents/a1", None),
    ("patch", "/api/agents/a1", {"ready": True}),
    ("delete", "/api/agents/a1", None),
    ("post", "/api/agents/a1/heartbeat", None),
    ("get", "/api/agents/a1/timeline", None),
    ("post", "/api/agents/a1/timeline", {"title": "t"}),
    ("post", "/api/activity", {"title": "t"}),
    ("get", "/api/activity", None),
]


def b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(now_s: int, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "sub": "intruder",
        "role": "provider",
        "scope": ["agent:read", "agent:write"],
        "constraints": {},
        "jti": "jti-forged",
        "iat": now_s,
        "exp": now_s + 3600,
    }
    payload.update(overrides)
    return payload


async def call(client: Any, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return await getattr(client, method)(path, **kwargs)


async def assert_error(response: Any, status: int, message: str) -> None:
    assert response.status_code == status
    assert await response.get_json() == {"error": message}


# -- 401 unauthorized ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_api_route_needs_a_token(
    client: Any, method: str, path: str, body: Any
) -> None:
    response = await call(client, method, path, body, {})
    await assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json"])
async def test_public_routes_need_no_token(client: Any, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200


# The full table of malformed headers and forged tokens is unit-tested against the
# Authenticator (tests/auth/test_verify.py); here each kind is shown to render as a 401.
@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer", id="scheme-only"),
        pytest.param(f"Basic {ROOT}", id="wrong-scheme"),
        pytest.param(ROOT, id="no-scheme"),
        pytest.param("Bearer not-a-jwt", id="garbage"),
        pytest.param(f"Bearer {ROOT}x", id="root-token-plus-one"),
    ],
)
async def test_malformed_authorization_is_unauthorized(client: Any, authorization: str) -> None:
    response = await client.get("/api/agents", headers={"Authorization": authorization})
    await assert_error(response, 401, "unauthorized")


async def test_bearer_scheme_is_case_insensitive(client: Any) -> None:
    response = await client.get("/api/agents", headers={"Authorization": f"bearer {ROOT}"})
    assert response.status_code == 200


async def test_token_signed_with_another_secret_is_unauthorized(
    client: Any, clock: ManualClock
) -> None:
    forged = jwt.encode(claims(clock.now_ms() // 1000), "another-secret-" + SECRET, "HS256")
    response = await client.get("/api/agents", headers=bearer(forged))
    await assert_error(response, 401, "unauthorized")


async def test_unsigned_alg_none_token_is_unauthorized(client: Any, clock: ManualClock) -> None:
    header = {"alg": "none", "typ": "JWT"}
    unsigned = f"{b64url(header)}.{b64url(claims(clock.now_ms() // 1000))}."
    response = await client.get("/api/agents", headers=bearer(unsigned))
    await assert_error(response, 401, "unauthorized")


async def test_hs512_token_with_the_right_secret_is_unauthorized(
    client: Any, clock: ManualClock
) -> None:
    # Only HS256 is accepted: an algorithm chosen by the token is never trusted.
    with warnings.catch_warnings():  # pyjwt warns the test secret is short for SHA-512
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        token = jwt.encode(claims(clock.now_ms() // 1000), SECRET, "HS512")
    response = await client.get("/api/agents", headers=bearer(token))
    await assert_error(response, 401, "unauthorized")


async def test_tampered_payload_is_unauthorized(client: Any, mint: Any, clock: ManualClock) -> None:
    token = mint(["agent:read"])
    header, _payload, signature = token.split(".")
    elevated = claims(clock.now_ms() // 1000, scope=["token:admin", "agent:write"])
    tampered = f"{header}.{b64url(elevated)}.{signature}"
    response = await client.post("/api/agents", json={"id": "a1"}, headers=bearer(tampered))
    await assert_error(response, 401, "unauthorized")


async def test_tampered_signature_is_unauthorized(client: Any, mint: Any) -> None:
    token = mint(["agent:read"])
    flipped = "A" if token[-1] != "A" else "B"
    response = await client.get("/api/agents", headers=bearer(token[:-1] + flipped))
    await assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("missing", ["jti", "exp"])
async def test_token_missing_a_required_claim_is_unauthorized(
    client: Any, clock: ManualClock, missing: str
) -> None:
    payload = claims(clock.now_ms() // 1000)
    del payload[missing]
    token = jwt.encode(payload, SECRET, "HS256")
    response = await client.get("/api/agents", headers=bearer(token))
    await assert_error(response, 401, "unauthorized")


async def test_token_with_a_mistyped_claim_is_unauthorized(client: Any, clock: ManualClock) -> None:
    token = jwt.encode(claims(clock.now_ms() // 1000, scope="token:admin"), SECRET, "HS256")
    response = await client.get("/api/agents", headers=bearer(token))
    await assert_error(response, 401, "unauthorized")


async def test_validly_signed_unrecorded_token_is_accepted(client: Any, clock: ManualClock) -> None:
    # Revocation is a deny-list: a token signed with the secret needs no stored record.
    token = jwt.encode(claims(clock.now_ms() // 1000), SECRET, "HS256")
    response = await client.get("/api/agents", headers=bearer(token))
    assert response.status_code == 200


async def test_revoked_token_is_unauthorized(client: Any, services: Services) -> None:
    token, minted = services.auth.mint(TokenSpec(sub="c", role="provider", scope=("agent:read",)))
    assert (await client.get("/api/agents", headers=bearer(token))).status_code == 200

    services.auth.revoke(minted.jti)

    response = await client.get("/api/agents", headers=bearer(token))
    await assert_error(response, 401, "unauthorized")


# -- 401 token expired ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed_s", "status"),
    [(59, 200), (60, 401), (86_400, 401)],
)
async def test_token_expires_at_its_exp(
    client: Any, mint: Any, clock: ManualClock, elapsed_s: int, status: int
) -> None:
    token = mint(["agent:read"], ttl=60)
    clock.advance(elapsed_s)
    response = await client.get("/api/agents", headers=bearer(token))
    assert response.status_code == status
    if status == 401:
        assert await response.get_json() == {"error": "token expired"}


async def test_expired_token_with_a_bad_signature_is_unauthorized_not_expired(
    client: Any, clock: ManualClock
) -> None:
    now_s = clock.now_ms() // 1000
    forged = jwt.encode(claims(now_s, exp=now_s - 10), "another-secret-" + SECRET, "HS256")
    response = await client.get("/api/agents", headers=bearer(forged))
    await assert_error(response, 401, "unauthorized")


async def test_expired_revoked_token_is_unauthorized(
    client: Any, services: Services, clock: ManualClock
) -> None:
    token, minted = services.auth.mint(
        TokenSpec(sub="c", role="provider", scope=("agent:read",), ttl_seconds=60)
    )
    services.auth.revoke(minted.jti)
    clock.advance(120)
    response = await client.get("/api/agents", headers=bearer(token))
    await assert_error(response, 401, "unauthorized")


# -- 403 forbidden -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "method", "path", "body"),
    [
        (["activity:read"], "get", "/api/agents", None),
        (["agent:read"], "post", "/api/agents", {"id": "a1"}),
        (["agent:read"], "post", "/api/activity", {"title": "t"}),
        ([], "get", "/api/agents/a1", None),
    ],
)
async def test_token_without_the_route_scope_is_forbidden(
    client: Any, mint: Any, scope: list[str], method: str, path: str, body: Any
) -> None:
    response = await call(client, method, path, body, bearer(mint(scope)))
    await assert_error(response, 403, "forbidden")


async def test_token_whose_constraint_does_not_cover_the_agent_is_forbidden(
    client: Any, mint: Any
) -> None:
    await client.post("/api/agents", json={"id": "a2"}, headers=H)
    token = mint(["agent:write"], {"agents": ["a1"]})
    response = await client.post("/api/agents/a2/heartbeat", headers=bearer(token))
    await assert_error(response, 403, "forbidden")


async def test_scope_is_checked_before_the_body(client: Any, mint: Any) -> None:
    token = mint(["agent:read"])
    response = await client.post(
        "/api/agents", data=b"not json", headers={**bearer(token), "Content-Type": "text/plain"}
    )
    await assert_error(response, 403, "forbidden")


# -- 413 request body too large ------------------------------------------------------------

LIMIT = 2048


def padded_registration(size: int) -> bytes:
    """A valid registration body of exactly ``size`` bytes."""
    skeleton = json.dumps({"id": "big", "meta": {"pad": ""}}).encode()
    body = json.dumps({"id": "big", "meta": {"pad": "x" * (size - len(skeleton))}}).encode()
    assert len(body) == size
    return body


JSON_HEADERS = {**H, "Content-Type": "application/json"}


async def test_body_over_the_limit_is_413(open_app: Any) -> None:
    async with open_app(max_body_bytes=LIMIT) as app:
        body = padded_registration(LIMIT + 1)
        response = await app.test_client().post("/api/agents", data=body, headers=JSON_HEADERS)
    await assert_error(response, 413, "request body too large")


async def test_body_at_the_limit_is_accepted(open_app: Any) -> None:
    async with open_app(max_body_bytes=LIMIT) as app:
        body = padded_registration(LIMIT)
        response = await app.test_client().post("/api/agents", data=body, headers=JSON_HEADERS)
    assert response.status_code == 201


async def test_declared_content_length_over_the_limit_is_413(open_app: Any) -> None:
    async with open_app(max_body_bytes=LIMIT) as app:
        body = padded_registration(LIMIT * 2)
        headers = {**JSON_HEADERS, "Content-Length": str(len(body))}
        response = await app.test_client().post("/api/agents", data=body, headers=headers)
    await assert_error(response, 413, "request body too large")


async def test_chunked_body_over_the_limit_is_413(open_app: Any) -> None:
    # No Content-Length: the limit must hold while the body streams in.
    async with open_app(max_body_bytes=LIMIT) as app:
        body = padded_registration(LIMIT * 4)
        headers = {**JSON_HEADERS, "Transfer-Encoding": "chunked"}
        connection = app.test_client().request("/api/agents", method="POST", headers=headers)
        async with connection:
            for start in range(0, len(body), 512):
                await connection.send(body[start : start + 512])
            await connection.send_complete()
        response = await connection.as_response()
    await assert_error(response, 413, "request body too large")


async def test_default_body_limit_is_one_mebibyte(client: Any) -> None:
    body = padded_registration(1024 * 1024 + 1)
    response = await client.post("/api/agents", data=body, headers=JSON_HEADERS)
    await assert_error(response, 413, "request body too large")


# -- 400 body ------------------------------------------------------------------------------


# The full table of bodies is unit-tested on relay.http.validation (test_validation.py).
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"", "body required", id="empty"),
        pytest.param(b"[]", "body required", id="array"),
        pytest.param(b'"a1"', "body required", id="string"),
        pytest.param(b"{not json", "invalid JSON body", id="not-json"),
    ],
)
async def test_unusable_register_body_is_400(client: Any, raw: bytes, message: str) -> None:
    response = await client.post("/api/agents", data=raw, headers=JSON_HEADERS)
    await assert_error(response, 400, message)


@pytest.mark.parametrize(
    ("method", "path", "raw", "message"),
    [
        ("patch", "/api/agents/a1", b"[]", "body required"),
        ("post", "/api/agents/a1/timeline", b"{oops", "invalid JSON body"),
        ("post", "/api/activity", b"null", "body required"),
    ],
)
async def test_every_body_route_rejects_unusable_bodies(
    client: Any, method: str, path: str, raw: bytes, message: str
) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    response = await getattr(client, method)(path, data=raw, headers=JSON_HEADERS)
    await assert_error(response, 400, message)


# -- 400 field messages (the full tables are unit tests in test_validation.py) -------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "id is required"),
        ({"id": 5}, "id must be a string"),
        ({"id": "a1", "tags": "x"}, "tags must be an array"),
        ({"id": "a1", "name": "x" * 201}, "name must be at most 200 characters"),
    ],
)
async def test_register_names_the_invalid_field(
    client: Any, body: dict[str, Any], message: str
) -> None:
    response = await client.post("/api/agents", json=body, headers=H)
    await assert_error(response, 400, message)


async def test_patch_names_the_invalid_field(client: Any) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    response = await client.patch("/api/agents/a1", json={"ready": "maybe"}, headers=H)
    await assert_error(response, 400, "ready must be a boolean")


async def test_timeline_post_names_the_invalid_field(client: Any) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    response = await client.post("/api/agents/a1/timeline", json={"kind": "k"}, headers=H)
    await assert_error(response, 400, "title is required")


async def test_activity_post_names_the_invalid_field(client: Any) -> None:
    response = await client.post("/api/activity", json={"title": "t", "kind": "k" * 65}, headers=H)
    await assert_error(response, 400, "kind must be at most 64 characters")


# -- 404 -----------------------------------------------------------------------------------


async def test_unknown_agent_is_404_agent_not_found(client: Any) -> None:
    response = await client.get("/api/agents/ghost", headers=H)
    await assert_error(response, 404, "agent not found")


async def test_unknown_route_is_404_with_an_error_body(client: Any) -> None:
    response = await client.get("/api/nothing-here", headers=H)
    await assert_error(response, 404, "not found")


async def test_wrong_method_is_405_with_an_error_body(client: Any) -> None:
    response = await client.put("/api/agents", json={}, headers=H)
    await assert_error(response, 405, "method not allowed")
    # RFC 9110: a 405 names the methods the resource does support.
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "PUT" not in allowed
    assert response.headers["Content-Type"] == "application/json"


# -- 500 -----------------------------------------------------------------------------------


def add_failing_route(app: QuartTrio) -> None:
    async def explode() -> dict[str, Any]:
        raise RuntimeError("secret detail /srv/db password=hunter2")

    app.add_url_rule("/api/test-explode", "test_explode", explode)


async def test_unexpected_exception_is_500_without_a_traceback(
    open_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_app(setup=add_failing_route) as app:
        response = await app.test_client().get("/api/test-explode")
    await assert_error(response, 500, "internal error")
    text = (await response.get_data(as_text=True)).lower()
    assert "traceback" not in text
    assert "hunter2" not in text
    # ... but the operator sees it, traceback and all.
    logged = [r for r in caplog.records if r.name == "relay.http" and r.exc_info]
    assert logged
    assert "hunter2" in repr(logged[0].exc_info[1])  # type: ignore[index]
