from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# Channel audits stored before they had their own view ("Channel created", "… binding
# added"): the only config-view rows with the channels' icon.
_ROWS = (
    "UPDATE activity_events SET view = 'channels' "
    "WHERE view = 'config' AND icon = 'ti-messages'"
)
# The stream's log of them (replayed on Last-Event-ID): channel events, and the activity
# rows' own events, keyed by the row's id in their data.
_STREAM = {
    "sqlite": (
        "UPDATE stream_events SET view = 'channels', "
        "data = CASE WHEN event = 'activity' THEN json_set(data, '$.view', 'channels') "
        "ELSE data END "
        "WHERE view = 'config' AND (event = 'channel' OR (event = 'activity' AND "
        "json_extract(data, '$.icon') = 'ti-messages'))"
    ),
    "postgres": (
        "UPDATE stream_events SET view = 'channels', "
        "data = CASE WHEN event = 'activity' "
        "THEN jsonb_set(data::jsonb, '{view}', '\"channels\"') ELSE data END "
        "WHERE view = 'config' AND (event = 'channel' OR (event = 'activity' AND "
        "data->>'icon' = 'ti-messages'))"
    ),
}


async def move(_apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    await client.execute_script(_ROWS)
    await client.execute_script(_STREAM[client.capabilities.dialect])


class Migration(migrations.Migration):
    """Channel events and audits moved from the ``config`` view (read with
    ``config:read``) to their own ``channels`` view (read with ``message:read``, as
    channels are): the rows stored before move with them, or a caller refused the channels
    would still read their audits, and one allowed them would not find them there."""

    dependencies = [("relay", "0024_activity_path")]

    initial = False

    operations = [ops.RunPython(move, ops.RunPython.noop)]
