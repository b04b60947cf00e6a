"""tortoise models: the tables. Nothing above relay.store sees these classes."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Agent(Model):
    id = fields.CharField(primary_key=True, max_length=200)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16, db_index=True)
    ready = fields.BooleanField(default=False)
    tags = fields.JSONField(default=list)
    orchestrator_id = fields.CharField(max_length=200, null=True, db_index=True)
    provider_capabilities = fields.JSONField(null=True)
    meta = fields.JSONField(default=dict)
    registered_at = fields.BigIntField()
    last_seen_at = fields.BigIntField()

    class Meta:
        table = "agents"


class TimelineEntry(Model):
    id = fields.BigIntField(primary_key=True)
    agent_id = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=64)
    title = fields.TextField()
    body = fields.TextField(null=True)
    metadata = fields.JSONField(default=dict)
    created_at = fields.BigIntField()

    class Meta:
        table = "agent_timeline"
        indexes = (("agent_id", "id"),)


class ActivityEvent(Model):
    id = fields.BigIntField(primary_key=True)
    client_id = fields.CharField(max_length=200, null=True, unique=True)
    kind = fields.CharField(max_length=64)
    title = fields.TextField()
    body = fields.TextField(null=True)
    meta = fields.TextField(null=True)
    icon = fields.CharField(max_length=64, null=True)
    view = fields.CharField(max_length=64, null=True, db_index=True)
    agent_id = fields.CharField(max_length=200, null=True, db_index=True)
    metadata = fields.JSONField(default=dict)
    created_at = fields.BigIntField(db_index=True)

    class Meta:
        table = "activity_events"


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
