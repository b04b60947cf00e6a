"""Housekeeping jobs of the relay as a whole: retention of the activity trail and of the
live stream, and the scheduled full garbage collection.

Each aggregate registers its own jobs in its ``install`` (the agent reaper in
``relay.actors.agent``, command expiry in ``relay.actors.commands``, …).
"""

from __future__ import annotations

from typing import Any

from relay import gc_policy
from relay.actors.runtime.context import Runtime
from relay.clock import DAY_MS
from relay.store import maintenance as maintenance_store
from relay.store import stream as stream_store

# Rows per delete: bounded so the group-commit writer is never held long by one job.
DELETE_BATCH = 5_000


async def activity_retention(rt: Runtime) -> dict[str, Any]:
    """Delete activity events older than ``activity_retention_days``."""
    cutoff = rt.clock.now_ms() - round(rt.settings.activity_retention_days * DAY_MS)
    deleted = 0
    while True:
        batch = await rt.store.write(
            lambda: maintenance_store.delete_activity_before(cutoff, limit=DELETE_BATCH)
        )
        deleted += batch
        if batch < DELETE_BATCH:
            return {"deleted": deleted, "before": cutoff}


async def garbage_collection(_rt: Runtime) -> dict[str, Any]:
    """A full pass of the cyclic garbage collector (see ``relay.gc_policy``)."""
    return gc_policy.full_collection()


async def stream_retention(rt: Runtime) -> dict[str, Any]:
    """Forget live-stream events older than ``stream_retention_days`` (replay window)."""
    cutoff = rt.clock.now_ms() - round(rt.settings.stream_retention_days * DAY_MS)
    deleted = await rt.store.write(lambda: stream_store.prune_stream(cutoff))
    return {"deleted": deleted, "before": cutoff}
