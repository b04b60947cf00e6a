"""The built-in maintenance jobs: the agent reaper, activity retention, token pruning and
the scheduled full garbage collection.

Jobs that belong to later features (command expiry, merge-lease expiry, auto-merge,
workspace purge, the orchestrator reaper) are registered by those features.
"""

from __future__ import annotations

from typing import Any

from relay import gc_policy
from relay.actors.reaper import reap_agents
from relay.actors.runtime import Runtime
from relay.maintenance.jobs import JobSpec
from relay.maintenance.scheduler import Maintenance
from relay.settings import Settings
from relay.store import maintenance as maintenance_store
from relay.store import tokens as token_store

DAY_MS = 86_400_000
# Rows per delete: bounded so the group-commit writer is never held long by one job.
DELETE_BATCH = 5_000


async def agent_reaper(rt: Runtime) -> dict[str, Any]:
    """Move silent agents online → stale → offline."""
    return {"changed": len(await reap_agents(rt))}


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


async def token_pruning(rt: Runtime) -> dict[str, Any]:
    """Forget revocations past their ``expires_at`` (set beyond the re-mint window when
    revoked) and token records expired more than ``token_record_retention_days`` ago."""
    now = rt.clock.now_ms()
    grace = round(rt.settings.token_record_retention_days * DAY_MS)
    deleted = await rt.store.write(lambda: token_store.prune(now_ms=now, grace_ms=grace))
    return {"deleted": deleted}


async def garbage_collection(_rt: Runtime) -> dict[str, Any]:
    """A full pass of the cyclic garbage collector (see ``relay.gc_policy``)."""
    return gc_policy.full_collection()


def register_builtin_jobs(maintenance: Maintenance, settings: Settings) -> None:
    maintenance.register_job(
        JobSpec("agent-reaper", settings.job_agent_reaper_seconds, agent_reaper)
    )
    maintenance.register_job(
        JobSpec("activity-retention", settings.job_activity_retention_seconds, activity_retention)
    )
    maintenance.register_job(
        JobSpec("token-pruning", settings.job_token_pruning_seconds, token_pruning)
    )
    maintenance.register_job(
        JobSpec("garbage-collection", settings.job_garbage_collection_seconds, garbage_collection)
    )
