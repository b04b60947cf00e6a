from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# Every claim asks which agents that submitted tasks prefer are online
# (relay/store/tasks.py ``preferred_presence``). Read through the (status, created_at)
# index, that walked every submitted task: ~1 ms per claim with 4,500 on the board. This
# index holds only the submitted tasks that prefer an agent, and only that column.
_INDEX = (
    'CREATE INDEX IF NOT EXISTS tasks_preferring ON "tasks" ("preferred_agent_id") '
    "WHERE \"status\" = 'submitted' AND \"preferred_agent_id\" IS NOT NULL"
)


async def create_index(_apps: Any, schema_editor: Any) -> None:
    await schema_editor.client.execute_script(_INDEX)


class Migration(migrations.Migration):
    """Claim speed: a partial index of the submitted tasks that prefer an agent."""

    dependencies = [("relay", "0015_memory_broker_index")]

    initial = False

    operations = [ops.RunPython(create_index, ops.RunPython.noop)]
