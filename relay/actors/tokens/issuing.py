"""Minting tokens with a record, renewing them, revoking them.

Each function signs with the ``Authenticator`` and writes through the runtime's
store; the ``async`` ones are for the trio side, the ``*_blocking`` ones for actor
threads (they block on the store, so never call them on the trio thread).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from relay.actors.runtime.audit import write_audited
from relay.actors.runtime.context import Runtime
from relay.auth.access import Principal
from relay.auth.authenticator import Authenticator
from relay.auth.tokens import (
    MAX_TOKEN_CHARS,
    MAX_TTL_SECONDS,
    REMINT_MAX_EXPIRED_SECONDS,
    TokenSpec,
)
from relay.clock import DAY_MS
from relay.domain.activity import ActivityInput
from relay.domain.tokens import SUBJECT_MAX_LENGTH, TokenRecord
from relay.errors import Invalid, Unauthorized
from relay.store import tokens as token_store

GRACE_MS = REMINT_MAX_EXPIRED_SECONDS * 1000


def _minted(
    auth: Authenticator, spec: TokenSpec, profile_id: str | None, created_by: str | None
) -> tuple[str, TokenRecord]:
    token, claims = auth.mint(spec)
    return token, TokenRecord.of(claims, profile_id=profile_id, created_by=created_by)


async def issue(
    auth: Authenticator,
    rt: Runtime,
    spec: TokenSpec,
    *,
    profile_id: str | None = None,
    created_by: str | None = None,
    audit_of: Callable[[TokenRecord], ActivityInput] | None = None,
) -> tuple[str, TokenRecord]:
    """Mint a token for ``spec`` and store its record; returns ``(token, record)``.

    ``audit_of(record)``, if given, is the audit row stored in the record's commit.

    Raises:
        Unavailable: the store did not answer in time.
    """
    for name, value in (("sub", spec.sub), ("createdBy", created_by)):
        if value is not None and len(value) > SUBJECT_MAX_LENGTH:
            # A derived subject (``mcp:<agent>`` of a 200-character agent id) the record
            # cannot keep: refused, where the store's length check was a 500.
            raise Invalid(f"token {name} must be at most {SUBJECT_MAX_LENGTH} characters")
    token, record = _minted(auth, spec, profile_id, created_by)
    if len(token) > MAX_TOKEN_CHARS:
        # Signed, it would be refused on every use (``decode_signed``): a clear 400 instead
        # of a credential that never authenticates.
        raise Invalid(f"constraints too large: the token would exceed {MAX_TOKEN_CHARS} characters")
    await write_audited(
        rt,
        lambda: token_store.insert(record),
        lambda stored: [audit_of(record)] if audit_of is not None else [],
    )
    return token, record


async def renew(auth: Authenticator, rt: Runtime, caller: Principal) -> tuple[str, TokenRecord]:
    """A fresh token with the caller's sub, role, scope, constraints and lifetime.

    The presented token stays valid until it expires (a renewal must not cut off
    requests already in flight with it); the new record keeps its profile.

    Raises:
        Invalid: the caller is the root credential or an integration token, which
            never expire and are configured, not minted.
    """
    claims = caller.claims
    if caller.is_root or claims is None:
        what = "integration tokens" if caller.integration else "the root token"
        raise Invalid(f"{what} cannot be renewed; only component tokens expire")
    previous = await rt.store.run(lambda: token_store.load(claims.jti))
    spec = TokenSpec(
        sub=claims.sub,
        role=claims.role,
        scope=claims.scope,
        constraints=claims.constraints,
        ttl_seconds=min(max(claims.exp - claims.iat, 1), MAX_TTL_SECONDS),
    )
    profile_id = previous.profile_id if previous is not None else None
    # Revoked since the request was authenticated (during the read above): no successor.
    # The write checks again, in its own transaction, for a revocation committed first.
    if auth.is_revoked(claims.jti):
        raise Unauthorized("token revoked")
    token, record = _minted(auth, spec, profile_id, f"renew:{claims.jti}")
    renewed = await write_audited(
        rt, lambda: token_store.insert(record, unless_revoked=claims.jti), lambda _stored: []
    )
    if renewed is None:
        raise Unauthorized("token revoked")
    return token, record


def deny(auth: Authenticator, rt: Runtime, jti: str) -> None:
    """Refuse ``jti`` from the next request on and end the live streams opened with it (an
    SSE stream, a command channel), which authenticated once, when they opened."""
    auth.revoke(jti)
    rt.events.token_revoked(jti)


async def revoke(
    auth: Authenticator,
    rt: Runtime,
    jti: str,
    *,
    audit_of: Callable[[TokenRecord | None], ActivityInput] | None = None,
) -> TokenRecord | None:
    """Deny ``jti`` from the very next request on, and persist the revocation.

    The in-memory deny-list is updated first, so a store failure fails closed
    (the token is refused by this process even if the caller sees a 503); the streams
    open with it end at once.
    ``audit_of(record)``, if given, is the audit row stored in the revocation's commit.

    Returns:
        The token's record, or ``None`` if it was minted without one.
    """
    deny(auth, rt, jti)
    now_ms = rt.clock.now_ms()
    return await write_audited(
        rt,
        lambda: token_store.revoke(jti, now_ms=now_ms, grace_ms=GRACE_MS),
        lambda record: [audit_of(record)] if audit_of is not None else [],
    )


async def token_pruning(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: forget revocations past their ``expires_at`` (set beyond the re-mint
    window when revoked) and token records expired more than ``token_record_retention_days``
    ago."""
    now = rt.clock.now_ms()
    grace = round(rt.settings.token_record_retention_days * DAY_MS)
    deleted = await rt.store.write(lambda: token_store.prune(now_ms=now, grace_ms=grace))
    return {"deleted": deleted}
