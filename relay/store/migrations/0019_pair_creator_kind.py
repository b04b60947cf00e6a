from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """A pair remembers whether its creator was an agent when it was created, as tasks do
    (0018): registering an agent named like the sub that created a pair takes nothing.
    Pairs stored before know nothing (null): decided at read time, as before."""

    dependencies = [("relay", "0018_task_creator_kind")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Pair",
            name="created_by_agent",
            field=fields.BooleanField(null=True),
        ),
    ]
