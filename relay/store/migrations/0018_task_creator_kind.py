from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """A task remembers whether its creator was an agent when it was created: who manages
    it is then read by that kind, never decided again when an agent of the creator's name
    is registered later. Tasks stored before know nothing (null): decided at read time,
    as before."""

    dependencies = [("relay", "0017_table_descriptions")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Task",
            name="created_by_agent",
            field=fields.BooleanField(null=True),
        ),
    ]
