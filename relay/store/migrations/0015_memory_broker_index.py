from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# An index that holds every column the broker's candidate query filters, orders and
# counts by (relay/store/memory_broker_sql.py), so the database sorts an agent's
# thousands of candidates from the index alone and reads the table for one page of them:
# read through the (scope, scope_key) index, each candidate cost a table row.
# SQLite: one index over them all (its planner reports a COVERING INDEX). PostgreSQL: the
# scope key, the rest carried with INCLUDE (an index-only scan once vacuum has marked the
# pages all-visible).
_COLUMNS = (
    "sensitivity, redaction_state, visibility, created_by_agent, created_by, confidence, "
    "updated_at, id, redaction_stamp, tags"
)
_SQLITE = f"CREATE INDEX IF NOT EXISTS memories_broker ON memories (scope, scope_key, {_COLUMNS})"
_POSTGRES = (
    f"CREATE INDEX IF NOT EXISTS memories_broker ON memories (scope, scope_key) INCLUDE ({_COLUMNS})"
)


async def create_index(_apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    dialect = client.capabilities.dialect
    if dialect == "sqlite":
        await client.execute_script(_SQLITE)
    elif dialect == "postgres":
        await client.execute_script(_POSTGRES)


class Migration(migrations.Migration):
    """Broker speed: a covering index for the broker's ordered candidate pages."""

    dependencies = [("relay", "0014_memory_redaction_stamp")]

    initial = False

    operations = [ops.RunPython(create_index, ops.RunPython.noop)]
