"""tortoise models: message channels and their bindings."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = ["Channel", "ChannelBinding"]


class Channel(Model):
    id = fields.CharField(primary_key=True, max_length=64)
    description = fields.TextField(null=True)
    conversation_id = fields.CharField(max_length=64)
    # agent id → the channel's choice counter when it last chose that agent (exclusive
    # routing's "least recently chosen"), so the rotation survives passivation and restarts.
    last_chosen = fields.JSONField(default=dict)
    created_at = fields.BigIntField()
    updated_at = fields.BigIntField()

    class Meta:
        table = "channels"


class ChannelBinding(Model):
    """The unique key backs the channel actor's rule: one binding per mode, type and target."""

    id = fields.CharField(primary_key=True, max_length=36)
    channel_id = fields.CharField(max_length=64, db_index=True)
    mode = fields.CharField(max_length=16)
    target_type = fields.CharField(max_length=16)
    target = fields.CharField(max_length=200)
    direction = fields.CharField(max_length=16)
    created_at = fields.BigIntField()

    class Meta:
        table = "channel_bindings"
        unique_together = (("channel_id", "mode", "target_type", "target"),)
