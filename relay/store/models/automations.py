"""tortoise models: automations and their dispatch records."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["Automation", "AutomationDispatch"]


class Automation(Model):
    """An automation; the one AutomationActor is its only writer (the unique name backs
    its check)."""

    id = fields.CharField(primary_key=True, max_length=64)
    name = fields.CharField(max_length=100, unique=True)
    enabled = fields.BooleanField(default=True)
    trigger = fields.JSONField(default=dict)
    action = fields.JSONField(default=dict)
    max_per_hour = fields.IntField(default=60)
    version = fields.IntField(default=1)
    next_run_at = fields.BigIntField(null=True)
    created_by = fields.CharField(max_length=200)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "automations"


class AutomationDispatch(Model):
    """One ``AutomationDispatchResult``; the newest ``RELAY_AUTOMATION_DISPATCH_KEEP`` of
    each automation are kept."""

    id = fields.CharField(primary_key=True, max_length=64)
    automation_id = fields.CharField(max_length=64)
    trigger = fields.CharField(max_length=16)
    event_id = fields.CharField(max_length=64, null=True, db_index=True)
    status = fields.CharField(max_length=16)
    result = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    at = fields.BigIntField()
    # The order they were recorded in (``at`` ties under one clock tick): newest first.
    seq = fields.BigIntField()

    class Meta:
        table = "automation_dispatches"
        indexes = (("automation_id", "seq"), ("at", "status"))
