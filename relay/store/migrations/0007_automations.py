import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_JSON = {"encoder": functools.partial(dumps, separators=(",", ":")), "decoder": loads}


class Migration(migrations.Migration):
    """Automations (unique name) and their kept dispatch results."""

    # Both 0007s of the branches merged here (tortoise refuses two leaves); the lead
    # renumbers the chain at merge.
    dependencies = [("relay", "0007_pairs_integrations"), ("relay", "0007_tasks")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Automation",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("name", fields.CharField(unique=True, max_length=100)),
                ("enabled", fields.BooleanField(default=True)),
                ("trigger", fields.JSONField(default=dict, **_JSON)),
                ("action", fields.JSONField(default=dict, **_JSON)),
                ("max_per_hour", fields.IntField(default=60)),
                ("version", fields.IntField(default=1)),
                ("next_run_at", fields.BigIntField(null=True)),
                ("created_by", fields.CharField(max_length=200)),
                ("created_at", fields.BigIntField()),
                ("updated_at", fields.BigIntField()),
            ],
            options={"table": "automations", "app": "relay", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AutomationDispatch",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("automation_id", fields.CharField(max_length=64)),
                ("trigger", fields.CharField(max_length=16)),
                ("event_id", fields.CharField(null=True, db_index=True, max_length=64)),
                ("status", fields.CharField(max_length=16)),
                ("result", fields.JSONField(null=True, **_JSON)),
                ("error", fields.TextField(null=True, unique=False)),
                ("at", fields.BigIntField()),
                ("seq", fields.BigIntField()),
            ],
            options={
                "table": "automation_dispatches",
                "app": "relay",
                "indexes": [Index(fields=["automation_id", "seq"]), Index(fields=["at", "status"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
