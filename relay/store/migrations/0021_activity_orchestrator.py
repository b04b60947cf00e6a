from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# Rows stored before, in this order: a workspace's row (a lease's, a workspace action's)
# gets that workspace's orchestrator; an agent's row the orchestrator that agent is stored
# under at the upgrade; a command audit addressed to an orchestrator (no agent) its target.
_JSON = {
    "sqlite": {
        "workspace": "json_extract(activity_events.metadata, '$.workspaceId')",
        "target": "json_extract(metadata, '$.target')",
    },
    "postgres": {
        "workspace": "activity_events.metadata->>'workspaceId'",
        "target": "metadata->>'target'",
    },
}
_WORKSPACE_ROWS = (
    "UPDATE activity_events SET orchestrator_id = "
    "(SELECT workspaces.orchestrator_id FROM workspaces WHERE workspaces.id = {workspace}) "
    "WHERE orchestrator_id IS NULL AND {workspace} IS NOT NULL"
)
_AGENT_ROWS = (
    "UPDATE activity_events SET orchestrator_id = "
    "(SELECT agents.orchestrator_id FROM agents WHERE agents.id = activity_events.agent_id) "
    "WHERE orchestrator_id IS NULL AND agent_id IS NOT NULL"
)
_COMMAND_ROWS = (
    "UPDATE activity_events SET orchestrator_id = {target} "
    "WHERE orchestrator_id IS NULL AND agent_id IS NULL AND view = 'commands'"
)
# The same rows in the stream's log (replayed on Last-Event-ID), whose guard reads
# ``orchestratorId`` from the event's data: the activity row's JSON, keyed by its id.
_STREAM = {
    "sqlite": (
        "UPDATE stream_events SET data = json_set(data, '$.orchestratorId', "
        "(SELECT a.orchestrator_id FROM activity_events a "
        "WHERE a.id = json_extract(stream_events.data, '$.id'))) "
        "WHERE event = 'activity' AND (SELECT a.orchestrator_id FROM activity_events a "
        "WHERE a.id = json_extract(stream_events.data, '$.id')) IS NOT NULL"
    ),
    "postgres": (
        "UPDATE stream_events SET data = jsonb_set(data::jsonb, '{orchestratorId}', "
        "to_jsonb(a.orchestrator_id)) FROM activity_events a "
        "WHERE stream_events.event = 'activity' AND a.orchestrator_id IS NOT NULL "
        "AND jsonb_typeof(stream_events.data->'id') = 'number' "
        "AND a.id = (stream_events.data->>'id')::bigint"
    ),
}


async def backfill(_apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    dialect = client.capabilities.dialect
    await client.execute_script(_WORKSPACE_ROWS.format(**_JSON[dialect]))
    await client.execute_script(_AGENT_ROWS)
    await client.execute_script(_COMMAND_ROWS.format(**_JSON[dialect]))
    await client.execute_script(_STREAM[dialect])


class Migration(migrations.Migration):
    """An activity row names the orchestrator it concerns, so a token limited by
    orchestrator reads only its own orchestrators' rows (``GET /api/activity`` and the
    stream). Before, rows were filtered by agent alone: an orchestrator's token read every
    other orchestrator's command, workspace, lease and agent audits."""

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
