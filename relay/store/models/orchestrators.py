"""tortoise models: orchestrators."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["Orchestrator"]


class Orchestrator(Model):
    id = fields.CharField(primary_key=True, max_length=200)
    agent_id = fields.CharField(max_length=200, null=True, db_index=True)
    name = fields.CharField(max_length=200)
    host = fields.CharField(max_length=255, null=True)
    base_dir = fields.TextField()
    status = fields.CharField(max_length=16, db_index=True)
    capabilities = fields.JSONField(default=dict)
    runtime = fields.JSONField(default=dict)
    managed_agents = fields.JSONField(default=list)
    registered_at = fields.BigIntField()
    last_heartbeat_at = fields.BigIntField()

    class Meta:
        table = "orchestrators"
