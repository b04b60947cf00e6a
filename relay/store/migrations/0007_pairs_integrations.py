import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_JSON = {"encoder": functools.partial(dumps, separators=(",", ":")), "decoder": loads}


class Migration(migrations.Migration):
    """Pairs, and integration events with their (integration, delivery_id) dedupe key."""

    dependencies = [("relay", "0006_messages")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Pair",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("driver", fields.CharField(max_length=200)),
                ("navigator", fields.CharField(max_length=200)),
                ("task_id", fields.CharField(null=True, max_length=200)),
                ("objective", fields.TextField(null=True, unique=False)),
                ("conversation_id", fields.CharField(max_length=64)),
                ("status", fields.CharField(db_index=True, max_length=32)),
                ("joined", fields.JSONField(default=list, **_JSON)),
                ("created_by", fields.CharField(max_length=200)),
                ("version", fields.IntField(default=1)),
                ("created_at", fields.BigIntField()),
                ("updated_at", fields.BigIntField()),
            ],
            options={"table": "pairs", "app": "relay", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="IntegrationEvent",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("integration", fields.CharField(max_length=100)),
                ("delivery_id", fields.CharField(max_length=200)),
                ("type", fields.CharField(max_length=100)),
                ("subject", fields.CharField(null=True, max_length=500)),
                ("payload", fields.JSONField(default=dict, **_JSON)),
                ("occurred_at", fields.BigIntField(null=True)),
                ("received_at", fields.BigIntField(db_index=True)),
            ],
            options={
                "table": "integration_events",
                "app": "relay",
                "unique_together": (("integration", "delivery_id"),),
                "indexes": [Index(fields=["integration", "received_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
