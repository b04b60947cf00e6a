from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# ``redaction_stamp``: the stamp of the redaction list a memory's stored text was last found
# unchanged by (relay/actors/memory/redaction.py). While the relay runs with that list, the
# text leaves as stored, so the broker reads a row's order and length without its text.
# NULL (rows stored before this migration, or text the list would change): the reader
# redacts the text itself, as before.


class Migration(migrations.Migration):
    """Broker speed: memories remember which redaction list left their text unchanged."""

    # 0014 is another aggregate's; chain after it when both are on one branch.
    dependencies = [("relay", "0013_memory_search")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Memory",
            name="redaction_stamp",
            field=fields.CharField(null=True, max_length=32),
        ),
    ]
