"""tortoise models: tasks."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["Task"]


class Task(Model):
    """A task (spec/tasks.md); ``TaskBoardActor`` is its only writer."""

    id = fields.CharField(primary_key=True, max_length=36)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    context_id = fields.CharField(max_length=64, db_index=True)
    reference_task_ids = fields.JSONField(default=list)
    depends_on = fields.JSONField(default=list)
    routing_hints = fields.JSONField(default=dict)
    # Its own column (and partial index, migration 0016): claim-next asks which preferred
    # agents are online.
    preferred_agent_id = fields.CharField(max_length=200, null=True)
    created_by = fields.CharField(max_length=200, db_index=True)
    # Whether the creator was an agent when it created the task (null: stored before this
    # was recorded, migration 0018).
    created_by_agent = fields.BooleanField(null=True)
    assignee = fields.CharField(max_length=200, null=True, db_index=True)
    status = fields.CharField(max_length=16)
    status_message = fields.TextField(null=True)
    result = fields.JSONField(null=True)
    artifacts = fields.JSONField(default=list)
    attempt = fields.IntField(default=0)
    max_attempts = fields.IntField()
    lease_expires_at = fields.BigIntField(null=True)
    lease_ms = fields.BigIntField(default=0)
    version = fields.IntField(default=1)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "tasks"
        indexes = (("status", "created_at"),)
