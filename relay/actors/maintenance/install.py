"""How the maintenance aggregate plugs into the runtime: the ledger and the housekeeping."""

from __future__ import annotations

from relay.actors.maintenance.actor import MaintenanceActor
from relay.actors.maintenance.jobs import activity_retention, garbage_collection, stream_retention
from relay.actors.maintenance.ledger import ActorJobLedger
from relay.actors.maintenance.messages import KIND
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    """The MaintenanceActor keeps the schedule's ledger; the relay-wide housekeeping jobs."""
    runtime.registry.register_kind(KIND, lambda key: MaintenanceActor.start(key, runtime))
    runtime.maintenance.ledger = ActorJobLedger(runtime)
    settings = runtime.settings
    for spec in (
        JobSpec("activity-retention", settings.job_activity_retention_seconds, activity_retention),
        JobSpec("garbage-collection", settings.job_garbage_collection_seconds, garbage_collection),
        JobSpec("stream-retention", settings.job_stream_retention_seconds, stream_retention),
    ):
        runtime.maintenance.register_job(spec)
