import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

_JSON = {"encoder": functools.partial(dumps, separators=(",", ":")), "decoder": loads}


class Migration(migrations.Migration):
    """A message remembers whom it is for, so a send cut short between storing the message
    and queuing its deliveries is finished later (the delivery repair); messages stored
    before this know no recipients (null) and are left alone."""

    dependencies = [("relay", "0007_artifacts")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Message",
            name="recipients",
            field=fields.JSONField(null=True, **_JSON),
        ),
        # Whether the sender was an agent when it sent (who reads as the sender); null for
        # messages stored before.
        ops.AddField(
            model_name="Message",
            name="sender_is_agent",
            field=fields.BooleanField(null=True),
        ),
        # The repair job reads the messages of its look-back window only.
        ops.AddIndex(model_name="Message", index=Index(fields=["created_at"])),
    ]
