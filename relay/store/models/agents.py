"""tortoise models: agents: their cards and timelines."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["Agent", "AgentTombstone", "TimelineEntry"]


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


# A deleted agent's id and the orchestrator it was stored under: its messages and
# conversations outlive it, so who may take the id again is judged by that orchestrator.
# Removed when a card of that id is created again. (A comment, not a docstring: tortoise
# would store a docstring as the table's description, in the migrations too.)
class AgentTombstone(Model):
    id = fields.CharField(primary_key=True, max_length=200)
    orchestrator_id = fields.CharField(max_length=200, null=True)
    deleted_at = fields.BigIntField()

    class Meta:
        table = "agent_tombstones"


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
