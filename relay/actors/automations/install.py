"""How the automations aggregate plugs into the runtime: its one actor and the schedule."""

from __future__ import annotations

from relay.actors.automations.actor import AutomationActor
from relay.actors.automations.flows import automation_schedule
from relay.actors.automations.messages import KIND
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    runtime.registry.register_kind(KIND, lambda key: AutomationActor.start(key, runtime))
    runtime.maintenance.register_job(
        JobSpec(
            "automation-schedule",
            runtime.settings.job_automation_schedule_seconds,
            automation_schedule,
        )
    )
