"""The schedule's ledger, kept by the MaintenanceActor and asked from trio."""

from __future__ import annotations

from typing import Any

from relay.actors.maintenance.messages import KEY, KIND, Abandon, Begin, Finish, Snapshot
from relay.actors.runtime import Runtime
from relay.actors.runtime.audit import audit
from relay.crossing import wait_future
from relay.domain.activity import ActivityInput
from relay.domain.maintenance import JobState

JSON = dict[str, Any]


class ActorJobLedger:
    """The scheduler's ledger: the MaintenanceActor, asked from trio; failures audited."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    async def begin(self, name: str, now: int) -> JobState:
        state: JobState = await self.rt.registry.ask(KIND, KEY, Begin(name, now))
        return state

    def abandon(self, name: str, began_at: int) -> None:
        self.rt.registry.tell(KIND, KEY, Abandon(name, began_at))

    async def finish(
        self, name: str, now: int, duration_ms: int, result: JSON | None, error: str | None
    ) -> JobState:
        message = Finish(name, now, duration_ms, result, error)
        state: JobState = await self.rt.registry.ask(KIND, KEY, message)
        return state

    async def snapshot(self, now: int) -> list[JobState]:
        states: list[JobState] = await self.rt.registry.ask(KIND, KEY, Snapshot(now))
        return states

    async def report_failure(self, name: str, error: str) -> None:
        event = ActivityInput(
            kind="maintenance",
            title=f"Maintenance job {name} failed",
            body=error,
            icon="ti-alert-triangle",
            view="maintenance",
            metadata={"job": name, "error": error},
        )
        # Waited for, so the audit is stored before the run is recorded as failed.
        await wait_future(
            audit(self.rt, event), timeout=self.rt.settings.store_timeout_seconds, what="store"
        )
