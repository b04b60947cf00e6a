"""tortoise models: token records and revocations."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["TokenRecord", "TokenRevocation"]


class TokenRecord(Model):
    jti = fields.CharField(primary_key=True, max_length=64)
    sub = fields.CharField(max_length=200)
    role = fields.CharField(max_length=64)
    scope = fields.JSONField(default=list)
    constraints = fields.JSONField(default=dict)
    profile_id = fields.CharField(max_length=64, null=True)
    created_by = fields.CharField(max_length=200, null=True)
    created_at = fields.BigIntField()
    expires_at = fields.BigIntField()
    revoked_at = fields.BigIntField(null=True)

    class Meta:
        table = "token_records"


class TokenRevocation(Model):
    """A deny-list row: validly signed tokens need no record, so revocation stands alone."""

    jti = fields.CharField(primary_key=True, max_length=64)
    revoked_at = fields.BigIntField()
    expires_at = fields.BigIntField(null=True, description="prunable after this")

    class Meta:
        table = "token_revocations"
