from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# Rows stored before: an agent's row gets the orchestrator that agent is stored under at
# the upgrade; a command audit addressed to an orchestrator (no agent) gets its target.
_AGENT_ROWS = (
    "UPDATE activity_events SET orchestrator_id = "
    "(SELECT agents.orchestrator_id FROM agents WHERE agents.id = activity_events.agent_id) "
    "WHERE orchestrator_id IS NULL AND agent_id IS NOT NULL"
)
_TARGET = {"sqlite": "json_extract(metadata, '$.target')", "postgres": "metadata->>'target'"}
_COMMAND_ROWS = (
    "UPDATE activity_events SET orchestrator_id = {target} "
    "WHERE orchestrator_id IS NULL AND agent_id IS NULL AND view = 'commands'"
)


async def backfill(_apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    await client.execute_script(_AGENT_ROWS)
    target = _TARGET[client.capabilities.dialect]
    await client.execute_script(_COMMAND_ROWS.format(target=target))


class Migration(migrations.Migration):
    """An activity row names the orchestrator it concerns, so a token limited by
    orchestrator reads only its own orchestrators' rows (``GET /api/activity`` and the
    stream). Before, rows were filtered by agent alone: an orchestrator's token read every
    other orchestrator's command and agent audits."""

    dependencies = [("relay", "0020_creator_kind_backfill")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ActivityEvent",
            name="orchestrator_id",
            field=fields.CharField(max_length=200, null=True, db_index=True),
        ),
        ops.RunPython(backfill, ops.RunPython.noop),
    ]
