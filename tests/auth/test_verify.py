"""Component-token verification refuses every forgery; expiry is separate from validity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from relay.auth.authenticator import Authenticator
from relay.auth.tokens import MAX_TOKEN_CHARS, TokenSpec
from relay.clock import ManualClock
from relay.errors import RateLimited, Unauthorized
from relay.settings import IntegrationToken
from tests.auth import forgery

SECRET = "unit-secret-0123456789abcdef0123456789abcdef"
ROOT = "unit-root-token"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def auth(clock: ManualClock) -> Authenticator:
    return Authenticator(root_token=ROOT, secret=SECRET, clock=clock)


def now_s(clock: ManualClock) -> int:
    return clock.now_ms() // 1000


def genuine(auth: Authenticator, ttl: int = 3600) -> str:
    spec = TokenSpec(sub="runner:sp_1", role="provider", scope=("agent:read",), ttl_seconds=ttl)
    token, _ = auth.mint(spec)
    return token


Forge = Callable[[Authenticator, int], str]

FORGERIES: dict[str, Forge] = {
    "tampered payload": lambda auth, now: forgery.tampered(genuine(auth), scope=["token:admin"]),
    "tampered sub": lambda auth, now: forgery.tampered(genuine(auth), sub="runner:other"),
    "signed with another secret": lambda auth, now: forgery.sign(
        forgery.OTHER_SECRET, forgery.claims(now)
    ),
    "alg none": lambda auth, now: forgery.unsigned(forgery.claims(now)),
    "alg none signed": lambda auth, now: forgery.sign(SECRET, forgery.claims(now), alg="none"),
    "RS256 header, HMAC signature": lambda auth, now: forgery.sign(
        SECRET, forgery.claims(now), alg="RS256"
    ),
    "RS256 token": lambda auth, now: forgery.rs256_with_garbage_signature(forgery.claims(now)),
    "HS512 with the secret": lambda auth, now: forgery.sign(
        SECRET, forgery.claims(now), alg="HS512"
    ),
    "missing sub": lambda auth, now: forgery.sign(SECRET, forgery.claims(now, sub=None)),
    "missing role": lambda auth, now: forgery.sign(SECRET, forgery.claims(now, role=None)),
    "missing scope": lambda auth, now: forgery.sign(SECRET, forgery.claims(now, scope=None)),
    "missing jti": lambda auth, now: forgery.sign(SECRET, forgery.claims(now, jti=None)),
    "missing exp": lambda auth, now: forgery.sign(SECRET, forgery.claims(now, exp=None)),
    "missing iat": lambda auth, now: forgery.sign(SECRET, forgery.claims(now, iat=None)),
    "scope not a list": lambda auth, now: forgery.sign(
        SECRET, forgery.claims(now, scope="token:admin")
    ),
    "constraints not lists": lambda auth, now: forgery.sign(
        SECRET, forgery.claims(now, constraints={"orchestrators": "orch-a"})
    ),
    "exp not an integer": lambda auth, now: forgery.sign(
        SECRET, forgery.claims(now, exp=str(now + 3600))
    ),
    "not a JWT": lambda auth, now: "not-a-jwt",
    "two segments": lambda auth, now: ".".join(genuine(auth).split(".")[:2]),
    "over-long": lambda auth, now: genuine(auth) + "A" * MAX_TOKEN_CHARS,
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_forgeries_are_unauthorized(auth: Authenticator, clock: ManualClock, forge: Forge) -> None:
    token = forge(auth, now_s(clock))
    for verify in (auth.verify, auth.verify_allow_expired):
        with pytest.raises(Unauthorized) as raised:
            verify(token)
        assert raised.value.message == "unauthorized"
    with pytest.raises(Unauthorized):
        auth.authenticate(f"Bearer {token}")


def test_hand_signed_complete_token_is_accepted(auth: Authenticator, clock: ManualClock) -> None:
    # The control for the table above: the forger's tooling makes valid tokens with our secret.
    claims = auth.verify(forgery.sign(SECRET, forgery.claims(now_s(clock))))
    assert claims.sub == "runner:sp_forged"


def test_expired_token_is_refused_but_still_identifiable(
    auth: Authenticator, clock: ManualClock
) -> None:
    token = genuine(auth, ttl=60)
    clock.advance(60)
    with pytest.raises(Unauthorized) as raised:
        auth.verify(token)
    assert raised.value.message == "token expired"
    assert auth.verify_allow_expired(token).sub == "runner:sp_1"


def test_a_verified_token_still_expires(auth: Authenticator, clock: ManualClock) -> None:
    # Its signature is checked once and remembered; its expiry is checked on every use.
    token = genuine(auth, ttl=60)
    assert auth.verify(token).sub == "runner:sp_1"
    clock.advance(60)
    with pytest.raises(Unauthorized) as raised:
        auth.verify(token)
    assert raised.value.message == "token expired"


def test_tampering_with_a_verified_token_is_refused(auth: Authenticator) -> None:
    token = genuine(auth)
    assert auth.verify(token).scope == ("agent:read",)
    with pytest.raises(Unauthorized):
        auth.verify(forgery.tampered(token, scope=["token:admin"]))


def test_revoked_token_is_refused_even_allowing_expiry(auth: Authenticator) -> None:
    token = genuine(auth)
    auth.revoke(auth.verify(token).jti)
    for verify in (auth.verify, auth.verify_allow_expired):
        with pytest.raises(Unauthorized) as raised:
            verify(token)
        assert raised.value.message == "unauthorized"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer  ", "Basic abc", "Token x"])
def test_malformed_authorization_is_unauthorized(auth: Authenticator, header: Any) -> None:
    with pytest.raises(Unauthorized) as raised:
        auth.authenticate(header)
    assert raised.value.message == "unauthorized"


def integration(name: str, token: str, per_minute: int = 2) -> IntegrationToken:
    return IntegrationToken(name=name, token=token, scopes=("agent:read",), per_minute=per_minute)


def test_integration_token_gives_its_principal_and_budget(clock: ManualClock) -> None:
    auth = Authenticator(
        root_token=ROOT,
        secret=SECRET,
        clock=clock,
        integrations=[
            integration("ci", "ci-token-0123456789"),
            integration("x", "x-token-0123456789"),
        ],
    )
    principal = auth.authenticate("Bearer ci-token-0123456789")
    assert (principal.sub, principal.role, principal.integration) == (
        "integration:ci",
        "integration",
        "ci",
    )
    assert principal.scope == frozenset({"agent:read"})
    assert not principal.is_root
    auth.authenticate("Bearer ci-token-0123456789")
    with pytest.raises(RateLimited) as raised:
        auth.authenticate("Bearer ci-token-0123456789")
    assert raised.value.message == "rate limit exceeded"
    assert raised.value.headers == {"Retry-After": "60"}
    assert auth.authenticate("Bearer x-token-0123456789").integration == "x"


@pytest.mark.parametrize(
    ("integrations", "message"),
    [
        (
            [integration("ci", "token-a-0123456789"), integration("ci", "token-b-0123456789")],
            "integration token names must be unique",
        ),
        (
            [integration("a", "token-a-0123456789"), integration("b", "token-a-0123456789")],
            "integration tokens must be distinct from each other and the root token",
        ),
        (
            [integration("a", "root-token-0123456789")],
            "integration tokens must be distinct from each other and the root token",
        ),
    ],
)
def test_ambiguous_integration_config_is_refused(
    clock: ManualClock, integrations: list[IntegrationToken], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Authenticator(
            root_token="root-token-0123456789",
            secret=SECRET,
            clock=clock,
            integrations=integrations,
        )
