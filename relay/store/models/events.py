"""tortoise models: the activity feed and the live event stream's log."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["ActivityEvent", "StreamEvent"]


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
    orchestrator_id = fields.CharField(max_length=200, null=True, db_index=True)
    # Where a row the relay wrote about a workspace is: its paths' common ancestor.
    path = fields.TextField(null=True)

    class Meta:
        table = "activity_events"


class StreamEvent(Model):
    """The live event stream's log: its id is the SSE event id, so Last-Event-ID can replay."""

    id = fields.BigIntField(primary_key=True)
    event = fields.CharField(max_length=32)
    data = fields.JSONField()
    view = fields.CharField(max_length=64, null=True)
    agent_id = fields.CharField(max_length=200, null=True)
    created_at = fields.BigIntField(db_index=True)

    class Meta:
        table = "stream_events"
