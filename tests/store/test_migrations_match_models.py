"""The migrations describe the models: a changed model without its migration fails here,
before a data dir made by the last release is upgraded without the change."""

from __future__ import annotations

import json
import subprocess
import sys

# In a child process: tortoise's autodetector needs its own initialised context, which must
# not meet the store thread's of other tests.
_CHANGES = """
import asyncio, json
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from relay.store.schema import TORTOISE_ORM

async def main() -> None:
    async with TortoiseContext() as ctx:
        await ctx.init(config=TORTOISE_ORM)
        writers = await MigrationAutodetector(ctx.apps, TORTOISE_ORM["apps"]).changes()
        print(json.dumps([
            [type(op).__name__, getattr(op, "name", None) or getattr(op, "model_name", None),
             sorted(getattr(op, "options", {}))]
            for writer in writers for op in writer.operations
        ]))

asyncio.run(main())
"""


def _pending_operations() -> list[list[object]]:
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _CHANGES], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    operations: list[list[object]] = json.loads(done.stdout.strip().splitlines()[-1])
    return operations


def test_makemigrations_finds_nothing_to_write() -> None:
    # A docstring edit changes a model's table description, which tortoise records as a
    # state-only AlterModelOptions (no SQL): it needs a migration too, or the next
    # makemigrations for a real change carries it along unasked.
    assert _pending_operations() == [], (
        "the models differ from relay/store/migrations: run "
        "`PYTHONPATH=. tortoise -c relay.store.schema.TORTOISE_ORM makemigrations --name WHAT`"
    )
