"""Tokens: their records, minting, revocation, the caller's own, stream tickets."""

from __future__ import annotations

from relay.http.responses.base import Ok, Shape

__all__ = ["IssuedToken", "Me", "RevokedToken", "StreamTicket", "TokenRecord"]


class TokenRecord(Shape):
    jti: str
    sub: str
    role: str
    scope: list[str]
    constraints: dict[str, list[str]]
    profile_id: str | None
    created_by: str | None
    created_at: int
    expires_at: int
    revoked_at: int | None


class IssuedToken(Shape):
    token: str
    record: TokenRecord


class RevokedToken(Ok):
    jti: str
    record: TokenRecord | None


class Me(Shape):
    sub: str
    role: str
    root: bool
    scope: list[str]
    constraints: dict[str, list[str]]


class StreamTicket(Shape):
    ticket: str
    expires_at: int
