import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_JSON = {"encoder": functools.partial(dumps, separators=(",", ":")), "decoder": loads}


class Migration(migrations.Migration):
    """Messaging: messages, their per-recipient deliveries, and conversations."""

    dependencies = [("relay", "0005_channels")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Message",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("client_message_id", fields.CharField(max_length=128)),
                ("conversation_id", fields.CharField(max_length=64)),
                ("seq", fields.IntField()),
                ("sender", fields.CharField(max_length=200)),
                ("to", fields.CharField(null=True, max_length=200)),
                ("channel_id", fields.CharField(null=True, max_length=64)),
                ("thread_id", fields.CharField(max_length=64)),
                ("reply_to", fields.CharField(null=True, max_length=64)),
                ("ack_required", fields.BooleanField(default=False)),
                ("importance", fields.CharField(max_length=16)),
                ("body", fields.TextField(unique=False)),
                ("attachments", fields.JSONField(default=list, **_JSON)),
                ("max_attempts", fields.IntField()),
                ("expires_at", fields.BigIntField(db_index=True)),
                ("created_at", fields.BigIntField()),
            ],
            options={
                "table": "messages",
                "app": "relay",
                "unique_together": (("sender", "client_message_id"), ("conversation_id", "seq")),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Delivery",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("message_id", fields.CharField(max_length=64)),
                ("agent_id", fields.CharField(max_length=200)),
                ("conversation_id", fields.CharField(max_length=64)),
                ("seq", fields.IntField()),
                ("state", fields.CharField(max_length=16)),
                ("attempt", fields.IntField(default=0)),
                ("max_attempts", fields.IntField()),
                ("position", fields.BigIntField()),
                ("queued_at", fields.BigIntField()),
                ("expires_at", fields.BigIntField()),
                ("ack_required", fields.BooleanField(default=False)),
                ("lease_id", fields.CharField(null=True, max_length=64)),
                ("lease_expires_at", fields.BigIntField(null=True)),
                ("matched_by", fields.JSONField(null=True, **_JSON)),
                ("acked_at", fields.BigIntField(null=True)),
                ("ended_at", fields.BigIntField(null=True)),
            ],
            options={
                "table": "deliveries",
                "app": "relay",
                "unique_together": (("message_id", "agent_id"), ("agent_id", "position")),
                "indexes": [
                    Index(fields=["agent_id", "state"]),
                    Index(fields=["state", "lease_expires_at"]),
                    Index(fields=["state", "expires_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Conversation",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("kind", fields.CharField(max_length=16)),
                ("participants", fields.JSONField(default=list, **_JSON)),
                ("channel_id", fields.CharField(null=True, db_index=True, max_length=64)),
                ("pair_id", fields.CharField(null=True, max_length=64)),
                ("last_seq", fields.IntField(default=0)),
                ("last_message_at", fields.BigIntField(null=True)),
            ],
            options={"table": "conversations", "app": "relay", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
