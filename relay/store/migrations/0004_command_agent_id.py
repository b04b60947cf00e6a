from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# Commands stored before this migration: their params.agentId, when it is a string.
_BACKFILL = {
    "sqlite": (
        "UPDATE commands SET agent_id = json_extract(params, '$.agentId') "
        "WHERE json_valid(params) AND json_type(params, '$.agentId') = 'text'"
    ),
    "postgres": (
        "UPDATE commands SET agent_id = params::jsonb ->> 'agentId' "
        "WHERE jsonb_typeof(params::jsonb -> 'agentId') = 'string'"
    ),
}


async def backfill(_apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    sql = _BACKFILL.get(client.capabilities.dialect)
    if sql is not None:
        await client.execute_script(sql)


class Migration(migrations.Migration):
    """GET /api/commands?agentId= finds the commands an orchestrator carries out for an agent
    (params.agentId) by index."""

    dependencies = [("relay", "0003_command_effects_index")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Command",
            name="agent_id",
            field=fields.CharField(null=True, db_index=True, max_length=200),
        ),
        ops.RunPython(backfill, ops.RunPython.noop),
    ]
