from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """A deleted agent leaves its id and orchestrator behind (``agent_tombstones``): its
    messages and conversations stay under the id, and a token limited to another
    orchestrator must not take the id, and them, over. Agents deleted before left none."""

    dependencies = [("relay", "0021_activity_orchestrator")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AgentTombstone",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ("orchestrator_id", fields.CharField(null=True, max_length=200)),
                ("deleted_at", fields.BigIntField()),
            ],
            options={"table": "agent_tombstones", "app": "relay", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
