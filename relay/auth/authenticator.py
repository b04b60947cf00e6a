"""Turning an ``Authorization`` header into a ``Principal`` (or a 401)."""

from __future__ import annotations

import functools
import hmac
import threading
from collections.abc import Sequence

from relay.auth.access import Principal
from relay.auth.ratelimit import RateLimiter
from relay.auth.tokens import TokenSpec, check_expiry, decode_signed, mint
from relay.clock import Clock
from relay.domain.tokens import Claims
from relay.errors import RateLimited, Unauthorized
from relay.settings import IntegrationToken

VERIFIED_CACHE_SIZE = 4096


class Authenticator:
    """Root credential, integration tokens, HS256 component tokens and the deny-list.

    The deny-list is held in memory (loaded from the store at start, updated on
    every revocation) so verifying a token costs no database round trip. A token's
    signature is checked once: its string fixes its claims, so the claims of recently
    seen tokens are kept (every request of a polling orchestrator carries the same one)
    and only revocation and expiry, which change with time, are checked on each use.
    Integration tokens come from settings; each has a per-minute request budget
    kept by an in-memory ``RateLimiter`` (per process, reset on restart).
    """

    def __init__(
        self,
        *,
        root_token: str,
        secret: str,
        clock: Clock,
        integrations: Sequence[IntegrationToken] = (),
    ) -> None:
        self._root = root_token.encode()
        self.secret = secret
        self.clock = clock
        # Only a token that verified is kept (an exception is never cached); bounded, so a
        # stream of distinct tokens costs memory for the most recent ones only.
        self._decode = functools.lru_cache(maxsize=VERIFIED_CACHE_SIZE)(
            functools.partial(decode_signed, secret)
        )
        self._revoked: set[str] = set()
        self._lock = threading.Lock()
        self._integrations = _checked(integrations, root_token)
        self.limiter = RateLimiter(clock)

    def load_revocations(self, jtis: list[str]) -> None:
        with self._lock:
            self._revoked.update(jtis)

    def revoke(self, jti: str) -> None:
        with self._lock:
            self._revoked.add(jti)

    def is_revoked(self, jti: str) -> bool:
        with self._lock:
            return jti in self._revoked

    def now_s(self) -> int:
        return self.clock.now_ms() // 1000

    def mint(self, spec: TokenSpec) -> tuple[str, Claims]:
        return mint(self.secret, spec, now_s=self.now_s())

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller behind an ``Authorization: Bearer`` header.

        Raises:
            Unauthorized: "unauthorized" or "token expired".
            RateLimited: an integration token over its per-minute budget ("rate limit
                exceeded", with ``Retry-After``).
        """
        token = _bearer(authorization)
        encoded = token.encode()
        if hmac.compare_digest(encoded, self._root):
            return Principal.root()
        integration = self._integration(encoded)
        if integration is not None:
            retry_after = self.limiter.acquire(integration.name, integration.per_minute)
            if retry_after is not None:
                raise RateLimited("rate limit exceeded", headers={"Retry-After": str(retry_after)})
            return Principal.for_integration(integration.name, integration.scopes)
        return Principal.from_claims(self.verify(token))

    def _integration(self, encoded: bytes) -> IntegrationToken | None:
        # Compare against every configured token, so the time taken says nothing of which.
        found: IntegrationToken | None = None
        for integration in self._integrations:
            if hmac.compare_digest(encoded, integration.token.encode()):
                found = integration
        return found

    def verify(self, token: str) -> Claims:
        claims = self.verify_allow_expired(token)
        check_expiry(claims, now_s=self.now_s())
        return claims

    def verify_allow_expired(self, token: str) -> Claims:
        """Signature and revocation only: for the runner-token re-mint, nothing else."""
        claims = self._decode(token)
        if self.is_revoked(claims.jti):
            raise Unauthorized("unauthorized")
        return claims


def _checked(
    integrations: Sequence[IntegrationToken], root_token: str
) -> tuple[IntegrationToken, ...]:
    """Refuse configurations where one credential could be mistaken for another."""
    names = [integration.name for integration in integrations]
    tokens = [integration.token for integration in integrations]
    if len(set(names)) != len(names):
        raise ValueError("integration token names must be unique")
    if len(set(tokens)) != len(tokens) or root_token in tokens:
        raise ValueError("integration tokens must be distinct from each other and the root token")
    return tuple(integrations)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("unauthorized")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("unauthorized")
    return token
