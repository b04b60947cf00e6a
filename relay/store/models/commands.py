"""tortoise models: commands, as their targets queue and settle them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["Command"]


class Command(Model):
    id = fields.CharField(primary_key=True, max_length=64)
    type = fields.CharField(max_length=64, db_index=True)
    source = fields.CharField(max_length=200, null=True)
    target = fields.CharField(max_length=200)
    target_kind = fields.CharField(max_length=16)
    correlation_id = fields.CharField(max_length=200, null=True, db_index=True)
    params = fields.JSONField(default=dict)
    status = fields.CharField(max_length=16, db_index=True)
    result = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    attempts = fields.IntField(default=0)
    created_at = fields.BigIntField(db_index=True)
    updated_at = fields.BigIntField()
    delivered_at = fields.BigIntField(null=True)
    ack_deadline = fields.BigIntField(null=True)
    settled_at = fields.BigIntField(null=True)
    expires_at = fields.BigIntField(null=True)
    effects_applied = fields.BooleanField(default=False)
    # ``params.agentId``: the agent a command routed through an orchestrator is about (a
    # restart, a compact), so GET /api/commands?agentId= finds them by index.
    agent_id = fields.CharField(max_length=200, null=True, db_index=True)

    class Meta:
        table = "commands"
        # (effects_applied, settled_at): the recovery job's scan of unmarked settles reads
        # only those, not every command ever settled.
        indexes = (("target", "status"), ("effects_applied", "settled_at"))
