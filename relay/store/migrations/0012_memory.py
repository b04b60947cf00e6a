import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_JSON = {"encoder": functools.partial(dumps, separators=(",", ":")), "decoder": loads}


class Migration(migrations.Migration):
    """Memories: what agents learn, per scope, with a version for optimistic locking."""

    dependencies = [("relay", "0011_automations")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Memory",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("scope", fields.CharField(max_length=16)),
                ("scope_key", fields.CharField(max_length=1024)),
                ("type", fields.CharField(max_length=16)),
                ("visibility", fields.CharField(max_length=16)),
                ("sensitivity", fields.CharField(max_length=16)),
                ("confidence", fields.CharField(max_length=16)),
                ("redaction_state", fields.CharField(max_length=16)),
                ("title", fields.TextField(unique=False)),
                ("body", fields.TextField(unique=False)),
                ("tags", fields.JSONField(default=list, **_JSON)),
                ("source", fields.JSONField(null=True, **_JSON)),
                ("created_by", fields.CharField(max_length=200)),
                ("created_by_agent", fields.BooleanField(default=True)),
                ("version", fields.IntField(default=1)),
                ("serve_count", fields.IntField(default=0)),
                ("last_served_at", fields.BigIntField(null=True)),
                ("created_at", fields.BigIntField()),
                ("updated_at", fields.BigIntField()),
                ("search_text", fields.TextField(unique=False)),
                ("search_tags", fields.TextField(unique=False)),
            ],
            options={
                "table": "memories",
                "app": "relay",
                "indexes": [
                    Index(fields=["updated_at", "id"]),
                    Index(fields=["scope", "scope_key"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
