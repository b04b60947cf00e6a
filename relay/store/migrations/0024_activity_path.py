from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """An activity row the relay writes about a workspace keeps where the workspace is (the
    common ancestor of its paths): a caller limited by path reads the row only within its
    paths, as it reads the workspace. Rows stored before have none (null)."""

    dependencies = [("relay", "0023_integration_pending")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ActivityEvent",
            name="path",
            field=fields.TextField(null=True),
        ),
    ]
