"""The maintenance schedule: a catalogue of jobs and the trio task that runs them.

``Maintenance`` lives on the runtime (``runtime.maintenance``). Features register
their jobs with ``register_job`` (at any time, from any thread); ``serve`` runs the
schedule until cancelled or ``stop``-ped. The scheduler sleeps until the earliest
deadline, starts every due job in its own task (a slow job delays nobody), and
asks the ledger (the MaintenanceActor) to ``begin`` and ``finish`` each run, so
each job runs at most once at a time and its state survives a restart.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import trio

from relay.actors.runtime.jobs import JobSpec
from relay.actors.runtime.schedule_rules import deadline_for, due_jobs, next_wake
from relay.domain.maintenance import JobState, RunOutcome
from relay.errors import Conflict, NotFound, RelayError, Unavailable

if TYPE_CHECKING:
    from relay.actors.runtime.context import Runtime

log = logging.getLogger("relay.maintenance")

JSON = dict[str, Any]

_MAX_ERROR_CHARS = 2000


class JobLedger(Protocol):
    """Where job states are kept: the MaintenanceActor, or an in-memory fake in tests."""

    async def begin(self, name: str, now: int) -> JobState:
        """Mark the job running; raise ``Conflict`` if it already is."""
        ...

    def abandon(self, name: str, began_at: int) -> None:
        """Undo a ``begin(name, began_at)`` that raised without refusing (no answer in
        time): it may still be handled, and no ``finish`` will follow it."""
        ...

    async def finish(
        self, name: str, now: int, duration_ms: int, result: JSON | None, error: str | None
    ) -> JobState:
        """Record the run's outcome; the reply carries the job's next run."""
        ...

    async def snapshot(self, now: int) -> list[JobState]:
        """Every registered job's state."""
        ...

    async def report_failure(self, name: str, error: str) -> None:
        """Audit a failed run."""
        ...


def describe_error(exc: Exception) -> str:
    """What a client may see of a job's failure: its message, never a traceback."""
    text = exc.message if isinstance(exc, RelayError) else f"{type(exc).__name__}: {exc}"
    return text[:_MAX_ERROR_CHARS]


class Maintenance:
    """The registered jobs, and while ``serve`` runs, their schedule."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: dict[str, JobSpec] = {}
        self._serving: _Serving | None = None
        self._scope: trio.CancelScope | None = None
        self._stopped: trio.Event | None = None
        # Where job states are kept; set by the maintenance aggregate's ``install``.
        self.ledger: JobLedger | None = None

    # -- the catalogue (any thread) ---------------------------------------------------------

    def register_job(self, spec: JobSpec) -> None:
        """Add a job; a running schedule takes it up at once.

        Raises:
            ValueError: a job of that name is already registered.
        """
        with self._lock:
            if spec.name in self._specs:
                raise ValueError(f"job {spec.name} is already registered")
            self._specs[spec.name] = spec
            serving = self._serving
        if serving is not None:
            serving.poke()

    def specs(self) -> tuple[JobSpec, ...]:
        """The registered jobs, in registration order."""
        with self._lock:
            return tuple(self._specs.values())

    def spec(self, name: str) -> JobSpec:
        """The job called ``name``; raises ``NotFound("job not found")``."""
        with self._lock:
            spec = self._specs.get(name)
        if spec is None:
            raise NotFound("job not found")
        return spec

    # -- the schedule (trio) ----------------------------------------------------------------

    async def serve(
        self,
        runtime: Runtime,
        ledger: JobLedger,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Run the schedule until cancelled or stopped; ``started`` once jobs are scheduled.

        Raises:
            RuntimeError: the schedule is already being served.
            RelayError: the ledger did not answer the initial snapshot.
        """
        with self._lock:
            if self._scope is not None:
                raise RuntimeError("the maintenance schedule is already being served")
            scope = self._scope = trio.CancelScope()
            stopped = self._stopped = trio.Event()
        try:
            with scope:
                states = await ledger.snapshot(runtime.clock.now_ms())
                async with trio.open_nursery() as nursery:
                    serving = _Serving(self, runtime, ledger, nursery)
                    serving.schedule(states)
                    with self._lock:
                        self._serving = serving
                    task_status.started()
                    await serving.loop()
        finally:
            with self._lock:
                self._serving = None
                self._scope = None
                self._stopped = None
            stopped.set()

    async def stop(self) -> None:
        """Cancel the schedule and its running jobs, and wait until they are gone."""
        with self._lock:
            scope, stopped = self._scope, self._stopped
        if scope is None or stopped is None:
            return
        scope.cancel()
        await stopped.wait()

    async def run_now(self, name: str) -> RunOutcome:
        """Run the job now and return its outcome (a job that raised has ``error`` set).

        The run happens in the schedule's own task, so a caller that goes away does not
        cut it short, and its outcome reschedules the job like any run.

        Raises:
            NotFound: no job of that name.
            Conflict: the job is already running.
            Unavailable: the schedule is not being served, or the ledger did not answer.
        """
        spec = self.spec(name)
        with self._lock:
            serving = self._serving
        if serving is None:
            raise Unavailable("maintenance scheduler is not running")
        return await serving.run_now(spec)


@dataclass
class _Pending:
    """A run-now's outcome, handed from the job's task to the caller."""

    done: trio.Event = field(default_factory=trio.Event)
    outcome: RunOutcome | None = None
    failure: Exception | None = None

    def resolve(self, outcome: RunOutcome) -> None:
        self.outcome = outcome
        self.done.set()

    def fail(self, failure: Exception) -> None:
        self.failure = failure
        self.done.set()


class _Serving:
    """One ``serve`` call's state; touched only on the trio thread (except ``poke``)."""

    def __init__(
        self, owner: Maintenance, runtime: Runtime, ledger: JobLedger, nursery: trio.Nursery
    ) -> None:
        self.owner = owner
        self.runtime = runtime
        self.ledger = ledger
        self.nursery = nursery
        self.token = trio.lowlevel.current_trio_token()
        self.deadlines: dict[str, float] = {}
        self.running: set[str] = set()
        self.adopting = False
        self.wake = trio.Event()

    def poke(self) -> None:
        """Wake the loop from any thread (a job was registered)."""
        with contextlib.suppress(trio.RunFinishedError):
            self.token.run_sync_soon(self._wake_up)

    def _wake_up(self) -> None:
        self.wake.set()

    def schedule(self, states: list[JobState]) -> None:
        """Give jobs that have no deadline yet the one their recorded next run implies."""
        now_ms, trio_now = self.runtime.clock.now_ms(), trio.current_time()
        for state in states:
            if state.name not in self.deadlines:
                self.deadlines[state.name] = deadline_for(
                    state.next_run_at, now_ms=now_ms, trio_now=trio_now
                )
        for spec in self.owner.specs():  # unknown to the ledger: one interval from now
            self.deadlines.setdefault(spec.name, trio_now + spec.interval_seconds)

    async def loop(self) -> None:
        while True:
            self.wake = trio.Event()
            specs = {spec.name: spec for spec in self.owner.specs()}
            if not self.adopting and any(name not in self.deadlines for name in specs):
                self.adopting = True
                self.nursery.start_soon(self._adopt)
            for name in due_jobs(self.deadlines, self.running, trio.current_time()):
                self.running.add(name)
                self.nursery.start_soon(self._run, specs[name], None)
            with trio.move_on_at(next_wake(self.deadlines, self.running)):
                await self.wake.wait()

    async def run_now(self, spec: JobSpec) -> RunOutcome:
        if spec.name in self.running:
            raise Conflict(f"job {spec.name} is already running")
        self.running.add(spec.name)
        pending = _Pending()
        self.nursery.start_soon(self._run, spec, pending)
        await pending.done.wait()
        if pending.failure is not None:
            raise pending.failure
        assert pending.outcome is not None
        return pending.outcome

    async def _adopt(self) -> None:
        """Schedule jobs registered while serving, from the ledger's record of them."""
        try:
            try:
                states = await self.ledger.snapshot(self.runtime.clock.now_ms())
            except Exception as exc:  # scheduled one interval out below; logged, not fatal
                log.error("maintenance_snapshot_failed error=%r", exc)
                states = []
            self.schedule(states)
        finally:
            self.adopting = False
            self.wake.set()

    async def _run(self, spec: JobSpec, pending: _Pending | None) -> None:
        try:
            await self._execute(spec, pending)
        finally:
            self.running.discard(spec.name)
            self.wake.set()
            if pending is not None and not pending.done.is_set():  # cancelled by stop()
                pending.fail(Unavailable("maintenance scheduler stopped"))

    async def _execute(self, spec: JobSpec, pending: _Pending | None) -> None:
        name, clock = spec.name, self.runtime.clock
        began_at = clock.now_ms()
        try:
            await self.ledger.begin(name, began_at)
        except Exception as exc:  # Conflict, or the actor did not answer: retry next interval
            log.warning("maintenance_job_not_started name=%s error=%r", name, exc)
            if not isinstance(exc, Conflict):
                # Handled late, that begin would mark the job running for good: no finish
                # follows it, and every run after would be "already running".
                self.ledger.abandon(name, began_at)
            self._retry_later(spec, pending, exc)
            return
        started = trio.current_time()
        result: JSON | None = None
        error: str | None = None
        outage: Unavailable | None = None
        try:
            result = await spec.run(self.runtime)
        except Exception as exc:
            outage = exc if isinstance(exc, Unavailable) else None
            error = describe_error(exc)
            log.error("maintenance_job_failed name=%s error=%s", name, error, exc_info=exc)
            await self._report(name, error)
        duration_ms = round((trio.current_time() - started) * 1000)
        try:
            state = await self.ledger.finish(name, clock.now_ms(), duration_ms, result, error)
        except Exception as exc:
            log.error("maintenance_job_unrecorded name=%s error=%r", name, exc)
            self._retry_later(spec, pending, exc)
            return
        self.deadlines[name] = deadline_for(
            state.next_run_at, now_ms=clock.now_ms(), trio_now=trio.current_time()
        )
        log.debug("maintenance_job_finished name=%s ms=%d ok=%s", name, duration_ms, error is None)
        if pending is not None and outage is not None:
            # Recorded as a failed run, but its caller is told what any route says of a
            # store that did not answer: 503 with Retry-After, never 200.
            pending.fail(outage)
        elif pending is not None:
            pending.resolve(RunOutcome(job=state, result=result, error=error))

    def _retry_later(self, spec: JobSpec, pending: _Pending | None, exc: Exception) -> None:
        self.deadlines[spec.name] = trio.current_time() + spec.interval_seconds
        if pending is not None:
            pending.fail(exc)

    async def _report(self, name: str, error: str) -> None:
        try:
            await self.ledger.report_failure(name, error)
        except Exception as exc:  # the failure is logged above; the schedule goes on
            log.error("maintenance_audit_failed name=%s error=%r", name, exc)
