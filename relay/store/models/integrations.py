"""tortoise models: integration events."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["IntegrationEvent"]


class IntegrationEvent(Model):
    """The unique (integration, delivery_id) backs the dedupe of repeated deliveries."""

    id = fields.CharField(primary_key=True, max_length=64)
    integration = fields.CharField(max_length=100)
    delivery_id = fields.CharField(max_length=200)
    type = fields.CharField(max_length=100)
    subject = fields.CharField(max_length=500, null=True)
    payload = fields.JSONField(default=dict)
    occurred_at = fields.BigIntField(null=True)
    received_at = fields.BigIntField(db_index=True)
    # The automations it triggered on arrival whose result is not kept yet (null: stored
    # before this was kept).
    pending = fields.JSONField(null=True)

    class Meta:
        table = "integration_events"
        unique_together = (("integration", "delivery_id"),)
        indexes = (("integration", "received_at"),)
