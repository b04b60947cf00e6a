"""Minting and verifying component tokens (pyjwt, HS256, claims sub/role/scope/constraints)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt

from relay.domain.tokens import Claims
from relay.errors import Unauthorized

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "role", "scope", "jti", "iat", "exp")
MAX_TOKEN_CHARS = 8192
DEFAULT_TTL_SECONDS = 86_400
MAX_TTL_SECONDS = 365 * 86_400
# How long after expiry a runner token may still be re-minted through its orchestrator.
# A revocation must outlive this window, or a revoked runner token could be re-minted.
REMINT_MAX_EXPIRED_SECONDS = 30 * 86_400


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """What to put in a new token; ``jti``, ``iat`` and ``exp`` are set when minting."""

    sub: str
    role: str
    scope: tuple[str, ...]
    constraints: dict[str, list[str]] = field(default_factory=dict)
    ttl_seconds: int = DEFAULT_TTL_SECONDS


def new_jti() -> str:
    return uuid.uuid4().hex


def mint(secret: str, spec: TokenSpec, *, now_s: int) -> tuple[str, Claims]:
    claims = Claims(
        sub=spec.sub,
        role=spec.role,
        scope=tuple(spec.scope),
        constraints={kind: list(values) for kind, values in spec.constraints.items()},
        jti=new_jti(),
        iat=now_s,
        exp=now_s + spec.ttl_seconds,
    )
    return jwt.encode(claims.to_payload(), secret, algorithm=ALGORITHM), claims


def decode_signed(secret: str, token: str) -> Claims:
    """Check the signature and the claims' shape, not the expiry.

    Raises:
        Unauthorized: anything but an HS256 token signed with ``secret`` with every claim.
    """
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized("unauthorized")
    try:
        # algorithms pins HS256: "none" and RS/HS confusion are refused by pyjwt itself.
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": list(REQUIRED_CLAIMS)},
        )
    except jwt.PyJWTError:
        raise Unauthorized("unauthorized") from None
    return _claims(payload)


def check_expiry(claims: Claims, *, now_s: int) -> None:
    if claims.exp <= now_s:
        raise Unauthorized("token expired")


def _claims(payload: dict[str, Any]) -> Claims:
    scope = payload.get("scope")
    constraints = payload.get("constraints") or {}
    valid = (
        isinstance(payload.get("sub"), str)
        and isinstance(payload.get("role"), str)
        and isinstance(payload.get("jti"), str)
        and isinstance(scope, list)
        and all(isinstance(s, str) for s in scope)
        and isinstance(constraints, dict)
        and all(
            isinstance(values, list) and all(isinstance(v, str) for v in values)
            for values in constraints.values()
        )
        and isinstance(payload.get("iat"), int)
        and isinstance(payload.get("exp"), int)
    )
    if not valid:
        raise Unauthorized("unauthorized")
    return Claims(
        sub=payload["sub"],
        role=payload["role"],
        scope=tuple(scope or ()),
        constraints={str(k): list(v) for k, v in constraints.items()},
        jti=payload["jti"],
        iat=payload["iat"],
        exp=payload["exp"],
    )
