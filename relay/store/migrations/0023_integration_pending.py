from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """An integration event keeps the automations it triggered when it arrived whose result
    is not kept yet: a repeat of its delivery (after a 503) runs those, and no automation
    saved since. Events stored before know nothing (null): a repeat runs what the event
    triggers then, as before, when none of its results is kept."""

    dependencies = [("relay", "0022_agent_tombstones")]

    initial = False

    operations = [
        ops.AddField(
            model_name="IntegrationEvent",
            name="pending",
            field=fields.JSONField(null=True),
        ),
    ]
