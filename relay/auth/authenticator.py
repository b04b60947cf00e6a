"""Turning an ``Authorization`` header into a ``Principal`` (or a 401)."""

from __future__ import annotations

import hmac
import threading

from relay.auth.access import Principal
from relay.auth.tokens import Claims, TokenSpec, check_expiry, decode_signed, mint
from relay.clock import Clock
from relay.errors import Unauthorized


class Authenticator:
    """Root credential, HS256 component tokens and the revocation deny-list.

    The deny-list is held in memory (loaded from the store at start, updated on
    every revocation) so verifying a token costs no database round trip.
    """

    def __init__(self, *, root_token: str, secret: str, clock: Clock) -> None:
        self._root = root_token.encode()
        self.secret = secret
        self.clock = clock
        self._revoked: set[str] = set()
        self._lock = threading.Lock()

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
        """Raises ``Unauthorized`` ("unauthorized" or "token expired")."""
        token = _bearer(authorization)
        if hmac.compare_digest(token.encode(), self._root):
            return Principal.root()
        return Principal.from_claims(self.verify(token))

    def verify(self, token: str) -> Claims:
        claims = self.verify_allow_expired(token)
        check_expiry(claims, now_s=self.now_s())
        return claims

    def verify_allow_expired(self, token: str) -> Claims:
        """Signature and revocation only: for the runner-token re-mint, nothing else."""
        claims = decode_signed(self.secret, token)
        if self.is_revoked(claims.jti):
            raise Unauthorized("unauthorized")
        return claims


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("unauthorized")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("unauthorized")
    return token
