from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# Tasks and pairs stored before 0018/0019: the creator's kind as it is at the upgrade (an
# agent of that id is registered, or not), which is what the read-time rule decided then.
_BACKFILL = (
    "UPDATE tasks SET created_by_agent = "
    "EXISTS (SELECT 1 FROM agents WHERE agents.id = tasks.created_by) "
    "WHERE created_by_agent IS NULL",
    "UPDATE pairs SET created_by_agent = "
    "EXISTS (SELECT 1 FROM agents WHERE agents.id = pairs.created_by) "
    "WHERE created_by_agent IS NULL",
)


async def backfill(_apps: Any, schema_editor: Any) -> None:
    for sql in _BACKFILL:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    """Tasks and pairs stored before their creator's kind was (0018, 0019) get it now.

    Left null, the kind stayed decided at read time for every older row: an agent
    registered after the upgrade under the name of a sub that created a task or pair
    before it would still take that task or pair. Fixed at the upgrade, nobody's rights
    change then (the read-time rule gave the same answer) and none change later."""

    dependencies = [("relay", "0019_pair_creator_kind")]

    initial = False

    operations = [ops.RunPython(backfill, ops.RunPython.noop)]
