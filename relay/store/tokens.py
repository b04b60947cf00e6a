"""Token records and the revocation deny-list.

A revocation row outlives its token by ``grace_ms`` (the re-mint window): a
revoked runner token must stay refused for as long as it could be re-minted.

The write functions run in the group-commit writer (``StoreThread.write`` /
``call(write=True)``), which applies jobs one at a time, so a look-up and the
insert that depends on it cannot interleave with another writer of this
process; the primary keys are the backstop across processes.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError

from relay.domain.tokens import TokenRecord
from relay.store import models

# Raised by a write that lost a race with another process on a primary key.
Conflict = IntegrityError


def _record(row: models.TokenRecord) -> TokenRecord:
    return TokenRecord(
        jti=row.jti,
        sub=row.sub,
        role=row.role,
        scope=tuple(row.scope or ()),
        constraints={str(kind): list(values) for kind, values in (row.constraints or {}).items()},
        profile_id=row.profile_id,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _columns(record: TokenRecord) -> dict[str, Any]:
    return {
        "jti": record.jti,
        "sub": record.sub,
        "role": record.role,
        "scope": list(record.scope),
        "constraints": record.constraints,
        "profile_id": record.profile_id,
        "created_by": record.created_by,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "revoked_at": record.revoked_at,
    }


async def revoked_jtis() -> list[str]:
    return [str(jti) for jti in await models.TokenRevocation.all().values_list("jti", flat=True)]


async def insert(record: TokenRecord, *, unless_revoked: str | None = None) -> TokenRecord | None:
    """Store a newly minted token's record (write); with ``unless_revoked``, only while
    that token is not revoked (a renewal: None, writing nothing, when it is)."""
    if unless_revoked is not None and await models.TokenRevocation.exists(jti=unless_revoked):
        return None
    await models.TokenRecord.create(**_columns(record))
    return record


async def load(jti: str) -> TokenRecord | None:
    row = await models.TokenRecord.get_or_none(jti=jti)
    return _record(row) if row is not None else None


async def list_records(*, sub: str | None, limit: int | None) -> list[TokenRecord]:
    """Newest first; every one with ``limit`` None."""
    query = models.TokenRecord.all()
    if sub is not None:
        query = query.filter(sub=sub)
    query = query.order_by("-created_at", "jti")
    rows = await (query.limit(limit) if limit is not None else query)
    return [_record(row) for row in rows]


async def revoke(jti: str, *, now_ms: int, grace_ms: int) -> TokenRecord | None:
    """Deny ``jti`` from now on and mark its record (write). Idempotent.

    Returns:
        The token's record (``revokedAt`` set), or ``None`` for a token minted without
        one; its revocation is then kept for good, since its expiry is unknown.
    """
    row = await models.TokenRecord.get_or_none(jti=jti)
    keep_until = row.expires_at + grace_ms if row is not None else None
    if not await models.TokenRevocation.exists(jti=jti):
        await models.TokenRevocation.create(jti=jti, revoked_at=now_ms, expires_at=keep_until)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = now_ms
        await row.save(update_fields=["revoked_at"])
    return _record(row)


async def replace(
    old_jti: str, *, old_expires_at: int, new: TokenRecord, now_ms: int, grace_ms: int
) -> bool:
    """Revoke ``old_jti`` and record ``new`` in one step (write): the runner re-mint.

    Returns:
        ``False``, writing nothing, when ``old_jti`` is already revoked (a replay, or
        a concurrent re-mint of the same token that got here first).
    """
    if await models.TokenRevocation.exists(jti=old_jti):
        return False
    await models.TokenRevocation.create(
        jti=old_jti, revoked_at=now_ms, expires_at=old_expires_at + grace_ms
    )
    await models.TokenRecord.filter(jti=old_jti, revoked_at=None).update(revoked_at=now_ms)
    await models.TokenRecord.create(**_columns(new))
    return True


async def prune(*, now_ms: int, grace_ms: int) -> int:
    """Forget tokens that can no longer be used nor re-minted (write, for maintenance).

    Deletes revocations past their ``expires_at`` and records that expired more than
    ``grace_ms`` ago. Returns the number of rows deleted.
    """
    revocations = await models.TokenRevocation.filter(expires_at__lt=now_ms).delete()
    records = await models.TokenRecord.filter(expires_at__lt=now_ms - grace_ms).delete()
    return int(revocations) + int(records)
