"""How the orchestrator aggregate plugs into the runtime."""

from __future__ import annotations

from relay.actors.orchestrator.actor import OrchestratorActor
from relay.actors.orchestrator.flows import orchestrator_reaper, remember_hosts
from relay.actors.orchestrator.messages import KIND
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    """One OrchestratorActor per orchestrator (it owns its command queue); its reaper."""
    runtime.registry.register_kind(KIND, lambda key: OrchestratorActor.start(key, runtime))
    runtime.recoveries.append(remember_hosts)
    runtime.maintenance.register_job(
        JobSpec(
            "orchestrator-reaper",
            runtime.settings.job_orchestrator_reaper_seconds,
            orchestrator_reaper,
        )
    )
