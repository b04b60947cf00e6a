"""tortoise models: pairs."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["Pair"]


class Pair(Model):
    """A pair; its PairActor is the only writer. Which agent is in which open pair is
    decided by the one PairPartiesActor (status is indexed for its load)."""

    id = fields.CharField(primary_key=True, max_length=64)
    driver = fields.CharField(max_length=200)
    navigator = fields.CharField(max_length=200)
    task_id = fields.CharField(max_length=200, null=True)
    objective = fields.TextField(null=True)
    conversation_id = fields.CharField(max_length=64)
    status = fields.CharField(max_length=32, db_index=True)
    joined = fields.JSONField(default=list)
    created_by = fields.CharField(max_length=200)
    # Whether the creator was an agent when it created the pair (null: stored before this
    # was recorded, migration 0019).
    created_by_agent = fields.BooleanField(null=True)
    version = fields.IntField(default=1)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "pairs"
