import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_JSON = {"encoder": functools.partial(dumps, separators=(",", ":")), "decoder": loads}


class Migration(migrations.Migration):
    """Tasks (tasks.md "Tasks")."""

    dependencies = [("relay", "0006_messages")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Task",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=36)),
                ("title", fields.CharField(max_length=200)),
                ("body", fields.TextField(unique=False)),
                ("context_id", fields.CharField(db_index=True, max_length=64)),
                ("reference_task_ids", fields.JSONField(default=list, **_JSON)),
                ("depends_on", fields.JSONField(default=list, **_JSON)),
                ("routing_hints", fields.JSONField(default=dict, **_JSON)),
                ("preferred_agent_id", fields.CharField(null=True, max_length=200)),
                ("created_by", fields.CharField(db_index=True, max_length=200)),
                ("assignee", fields.CharField(null=True, db_index=True, max_length=200)),
                ("status", fields.CharField(max_length=16)),
                ("status_message", fields.TextField(null=True, unique=False)),
                ("result", fields.JSONField(null=True, **_JSON)),
                ("artifacts", fields.JSONField(default=list, **_JSON)),
                ("attempt", fields.IntField(default=0)),
                ("max_attempts", fields.IntField()),
                ("lease_expires_at", fields.BigIntField(null=True)),
                ("lease_ms", fields.BigIntField(default=0)),
                ("version", fields.IntField(default=1)),
                ("created_at", fields.BigIntField()),
                ("updated_at", fields.BigIntField()),
            ],
            options={
                "table": "tasks",
                "app": "relay",
                "indexes": [Index(fields=["status", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
