import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Channels and their bindings (messaging.md "Channels")."""

    dependencies = [("relay", "0004_command_agent_id")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Channel",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ("description", fields.TextField(null=True, unique=False)),
                ("conversation_id", fields.CharField(max_length=64)),
                (
                    "last_chosen",
                    fields.JSONField(
                        default=dict,
                        encoder=functools.partial(dumps, separators=(",", ":")),
                        decoder=loads,
                    ),
                ),
                ("created_at", fields.BigIntField()),
                ("updated_at", fields.BigIntField()),
            ],
            options={"table": "channels", "app": "relay", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ChannelBinding",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=36)),
                ("channel_id", fields.CharField(db_index=True, max_length=64)),
                ("mode", fields.CharField(max_length=16)),
                ("target_type", fields.CharField(max_length=16)),
                ("target", fields.CharField(max_length=200)),
                ("direction", fields.CharField(max_length=16)),
                ("created_at", fields.BigIntField()),
            ],
            options={
                "table": "channel_bindings",
                "app": "relay",
                "unique_together": (("channel_id", "mode", "target_type", "target"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
    ]
