"""MaintenanceActor: the only keeper of the maintenance jobs' states.

One actor (kind ``maintenance``, key ``jobs``) records which job is running, and
each job's last run, duration, result or error and next run; the last run is
written through to the store so the schedule survives a restart. The trio
scheduler (``relay.actors.runtime.schedule``) runs the jobs and talks to this actor
through ``ActorJobLedger``.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any, TypeVar

from relay.actors.maintenance.messages import (
    KIND,
    Abandon,
    Begin,
    Finish,
    Snapshot,
)
from relay.actors.maintenance.rules import (
    adopt,
    check_can_begin,
    finish_run,
    interval_ms,
    job_state,
)
from relay.actors.runtime.aggregate import AggregateActor
from relay.actors.runtime.bridge import Durable
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.runtime.jobs import JobSpec
from relay.actors.runtime.registry import Passivate
from relay.domain.maintenance import JobRun, JobState
from relay.store import maintenance as maintenance_store

JSON = dict[str, Any]
T = TypeVar("T")


class MaintenanceActor(AggregateActor):
    kind = KIND

    def __init__(self, key: str, runtime: Runtime) -> None:
        super().__init__(key, runtime)
        self.records: dict[str, JobRun] = {}
        self.adopted: set[str] = set()
        # name → started at (ms). In memory only: a run does not outlive its process.
        self.running: dict[str, int] = {}

    def load(self) -> None:
        rows = self.read_through_queue(maintenance_store.load_all)
        self.records = {row.name: row for row in rows}
        self.adopted = set()

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Passivate):
            return None  # the running flags live only here: this actor is never passivated
        return super().on_receive(message)

    @dispatchmethod
    def handle(self, message: Any) -> Any:
        raise TypeError(f"MaintenanceActor cannot handle {message!r}")

    @handle.register
    def _begin(self, message: Begin) -> Durable[JobState] | JobState:
        spec = self.rt.maintenance.spec(message.name)
        record, commit = self._adopt(spec, message.now)
        check_can_begin(spec.name, running=spec.name in self.running)
        self.running[spec.name] = message.now
        return _reply(self._state(spec, record), commit)

    @handle.register
    def _abandon(self, message: Abandon) -> None:
        if self.running.get(message.name) == message.began_at:
            del self.running[message.name]

    @handle.register
    def _finish(self, message: Finish) -> Durable[JobState]:
        spec = self.rt.maintenance.spec(message.name)
        self._adopt(spec, message.now)
        started = self.running.pop(spec.name, message.now - message.duration_ms)
        record = finish_run(
            spec.name,
            started_at=started,
            finished_at=message.now,
            duration_ms=message.duration_ms,
            interval=interval_ms(spec.interval_seconds),
            result=message.result,
            error=message.error,
        )
        self.records[spec.name] = record
        return Durable(self._state(spec, record), self._save(record))

    @handle.register
    def _snapshot(self, message: Snapshot) -> Durable[list[JobState]] | list[JobState]:
        states: list[JobState] = []
        last_commit: concurrent.futures.Future[Any] | None = None
        for spec in self.rt.maintenance.specs():
            record, commit = self._adopt(spec, message.now)
            last_commit = commit or last_commit
            states.append(self._state(spec, record))
        # Writes commit in order: the last one's commit covers the others.
        return _reply(states, last_commit)

    def _adopt(
        self, spec: JobSpec, now: int
    ) -> tuple[JobRun, concurrent.futures.Future[Any] | None]:
        """The job's record, scheduled from what the store knew the first time it is seen."""
        record = self.records.get(spec.name)
        if spec.name in self.adopted and record is not None:
            return record, None
        adopted = adopt(record, spec.name, now=now, interval=interval_ms(spec.interval_seconds))
        self.adopted.add(spec.name)
        if adopted == record:
            return adopted, None
        self.records[spec.name] = adopted
        return adopted, self._save(adopted)

    def _save(self, record: JobRun) -> concurrent.futures.Future[None]:
        return self.write(lambda: maintenance_store.save(record))

    def _state(self, spec: JobSpec, record: JobRun) -> JobState:
        return job_state(
            record, interval_seconds=spec.interval_seconds, running=spec.name in self.running
        )


def _reply(value: T, commit: concurrent.futures.Future[Any] | None) -> T | Durable[T]:
    return value if commit is None else Durable(value, commit)
