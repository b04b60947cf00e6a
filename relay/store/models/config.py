"""tortoise models: config entries and their history."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["ConfigEntry", "ConfigHistory"]


class ConfigEntry(Model):
    id = fields.BigIntField(primary_key=True)
    namespace = fields.CharField(max_length=100)
    key = fields.CharField(max_length=200)
    version = fields.IntField()
    value = fields.JSONField(null=True)
    updated_at = fields.BigIntField()
    updated_by = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "config_entries"
        unique_together = (("namespace", "key"),)


class ConfigHistory(Model):
    id = fields.BigIntField(primary_key=True)
    namespace = fields.CharField(max_length=100)
    key = fields.CharField(max_length=200)
    version = fields.IntField()
    value = fields.JSONField(null=True)
    deleted = fields.BooleanField(default=False)
    updated_at = fields.BigIntField()
    updated_by = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "config_history"
        unique_together = (("namespace", "key", "version"),)
