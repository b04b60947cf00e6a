"""The maintenance jobs of the command channel, orchestrators, workspaces and the event stream.

(The agent reaper, activity retention and token pruning are in ``builtin``.)
"""

from __future__ import annotations

from typing import Any

from relay.actors import commands, workspace_merge
from relay.actors.reaper import reap_orchestrators
from relay.actors.runtime import Runtime
from relay.maintenance.jobs import JobSpec
from relay.maintenance.scheduler import Maintenance
from relay.settings import Settings
from relay.store import stream as stream_store

DAY_MS = 86_400_000


async def orchestrator_reaper(rt: Runtime) -> dict[str, Any]:
    """Move silent orchestrators online → stale → offline."""
    return {"changed": len(await reap_orchestrators(rt))}


async def command_expiry(rt: Runtime) -> dict[str, Any]:
    """Expire commands past their TTL, wake queues with unacknowledged deliveries, and run
    the settle effects a restart interrupted."""
    expired = await commands.expire_and_redeliver(rt)
    effects = await commands.apply_missed_effects(rt)
    return {**expired, "effectsRecovered": effects["applied"]}


async def stream_retention(rt: Runtime) -> dict[str, Any]:
    """Forget live-stream events older than ``stream_retention_days`` (replay window)."""
    cutoff = rt.clock.now_ms() - round(rt.settings.stream_retention_days * DAY_MS)
    deleted = await rt.store.write(lambda: stream_store.prune_stream(cutoff))
    return {"deleted": deleted, "before": cutoff}


def register_feature_jobs(maintenance: Maintenance, settings: Settings) -> None:
    for spec in (
        JobSpec(
            "orchestrator-reaper", settings.job_orchestrator_reaper_seconds, orchestrator_reaper
        ),
        JobSpec("command-expiry", settings.job_command_expiry_seconds, command_expiry),
        JobSpec(
            "merge-lease-expiry",
            settings.job_merge_lease_expiry_seconds,
            workspace_merge.expire_merge_leases,
        ),
        JobSpec("auto-merge", settings.job_auto_merge_seconds, workspace_merge.auto_merge),
        JobSpec(
            "workspace-purge", settings.job_workspace_purge_seconds, workspace_merge.purge_cleaned
        ),
        JobSpec("stream-retention", settings.job_stream_retention_seconds, stream_retention),
    ):
        maintenance.register_job(spec)
