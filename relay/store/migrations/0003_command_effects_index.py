from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """The command-effects recovery scan reads only unmarked settles, not the whole table."""

    dependencies = [("relay", "0002_control_plane")]

    initial = False

    operations = [
        ops.AddIndex(model_name="Command", index=Index(fields=["effects_applied", "settled_at"])),
    ]
