"""tortoise models: the maintenance schedule's ledger."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["MaintenanceRun"]


class MaintenanceRun(Model):
    """The last run of each maintenance job, so the schedule survives a restart."""

    name = fields.CharField(primary_key=True, max_length=64)
    last_run_at = fields.BigIntField(null=True)
    duration_ms = fields.IntField(null=True)
    result = fields.JSONField(null=True)
    error = fields.TextField(null=True)
    next_run_at = fields.BigIntField(null=True)

    class Meta:
        table = "maintenance_runs"
