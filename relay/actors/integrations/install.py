"""How integrations plug into the runtime: the retention job (no actor: the store's unique
``(integration, delivery_id)`` and its ordered writer decide the dedupe)."""

from __future__ import annotations

from relay.actors.integrations.flows import integration_retention
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    runtime.maintenance.register_job(
        JobSpec(
            "integration-retention",
            runtime.settings.job_integration_retention_seconds,
            integration_retention,
        )
    )
