"""How tasking plugs into the runtime: the lease-expiry job, also run at start-up so
leases that ran out while the relay was down are released before it serves."""

from __future__ import annotations

from relay.actors.runtime import JobSpec, Runtime
from relay.actors.tasking.flows import task_lease_expiry


async def _release_lapsed(runtime: Runtime) -> None:
    await task_lease_expiry(runtime)


def install(runtime: Runtime) -> None:
    runtime.maintenance.register_job(
        JobSpec(
            "task-lease-expiry", runtime.settings.job_task_lease_expiry_seconds, task_lease_expiry
        )
    )
    runtime.recoveries.append(_release_lapsed)
