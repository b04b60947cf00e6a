"""Tokens as data: the scopes there are, a token's claims, and what the relay remembers
about a token it minted (never the token string itself)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

# What a token record keeps of its subject and of who minted it (their columns): subjects
# the relay derives (``orchestrator:<id>``, ``mcp:<agent>``, ``spawn:<host>``) must fit.
SUBJECT_MAX_LENGTH = 200

SCOPES = (
    "agent:read",
    "agent:write",
    "command:read",
    "command:write",
    "config:read",
    "config:write",
    "activity:read",
    "activity:write",
    "token:admin",
    "message:read",
    "message:write",
    "task:read",
    "task:write",
    "memory:read",
    "memory:write",
)
# What messaging, tasks and memory add (spec: messaging.md, "Scopes and identity"): the
# agent-facing profiles and the dashboard gain all six; older tokens keep what they had.
RELAY_SCOPES = (
    "message:read",
    "message:write",
    "task:read",
    "task:write",
    "memory:read",
    "memory:write",
)


@dataclass(frozen=True, slots=True)
class Claims:
    sub: str
    role: str
    scope: tuple[str, ...]
    constraints: dict[str, list[str]]
    jti: str
    iat: int
    exp: int

    def to_payload(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "role": self.role,
            "scope": list(self.scope),
            "constraints": self.constraints,
            "jti": self.jti,
            "iat": self.iat,
            "exp": self.exp,
        }


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """One minted token; times are epoch milliseconds."""

    jti: str
    sub: str
    role: str
    scope: tuple[str, ...]
    constraints: dict[str, list[str]]
    profile_id: str | None
    created_by: str | None
    created_at: int
    expires_at: int
    revoked_at: int | None = None

    @classmethod
    def of(cls, claims: Claims, *, profile_id: str | None, created_by: str | None) -> TokenRecord:
        return cls(
            jti=claims.jti,
            sub=claims.sub,
            role=claims.role,
            scope=claims.scope,
            constraints={kind: list(values) for kind, values in claims.constraints.items()},
            profile_id=profile_id,
            created_by=created_by,
            created_at=claims.iat * 1000,
            expires_at=claims.exp * 1000,
        )

    def revoked(self, at: int) -> TokenRecord:
        return replace(self, revoked_at=at)

    def to_json(self) -> dict[str, Any]:
        return {
            "jti": self.jti,
            "sub": self.sub,
            "role": self.role,
            "scope": list(self.scope),
            "constraints": self.constraints,
            "profileId": self.profile_id,
            "createdBy": self.created_by,
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
            "revokedAt": self.revoked_at,
        }
