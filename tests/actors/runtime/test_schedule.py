"""The maintenance scheduler on trio's MockClock, with an in-memory ledger (no threads).

Nothing here touches a thread, so ``autojump_clock`` moves time whenever every task
waits: ``await trio.sleep(35)`` is 35 virtual seconds, run in an instant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from relay.actors.maintenance.rules import (
    adopt,
    check_can_begin,
    finish_run,
    interval_ms,
    job_state,
)
from relay.actors.runtime import ActorRegistry, JobSpec, Maintenance, Runtime
from relay.domain.maintenance import JobRun, JobState
from relay.errors import Conflict, NotFound, Unavailable
from relay.events import EventHub
from relay.settings import Settings
from relay.store.thread import StoreThread

JSON = dict[str, Any]
BASE_MS = 1_700_000_000_000


class TrioWallClock:
    """A wall clock that moves with trio's (mock) clock, as the real two do."""

    def now_ms(self) -> int:
        return BASE_MS + round(trio.current_time() * 1000)


class MemoryLedger:
    """The MaintenanceActor's bookkeeping, in memory, built on the same rules."""

    def __init__(self, maintenance: Maintenance, records: dict[str, JobRun] | None = None) -> None:
        self.maintenance = maintenance
        self.records: dict[str, JobRun] = dict(records or {})
        self.adopted: set[str] = set()
        self.running: dict[str, int] = {}
        self.failures: list[tuple[str, str]] = []
        self.refuse_begin: Exception | None = None
        self.abandoned: list[tuple[str, int]] = []

    def _record(self, name: str, now: int) -> JobRun:
        spec = self.maintenance.spec(name)
        if name not in self.adopted:
            interval = interval_ms(spec.interval_seconds)
            self.records[name] = adopt(self.records.get(name), name, now=now, interval=interval)
            self.adopted.add(name)
        return self.records[name]

    def _state(self, name: str, now: int) -> JobState:
        spec = self.maintenance.spec(name)
        return job_state(
            self._record(name, now),
            interval_seconds=spec.interval_seconds,
            running=name in self.running,
        )

    async def begin(self, name: str, now: int) -> JobState:
        await trio.lowlevel.checkpoint()
        if self.refuse_begin is not None:
            refusal, self.refuse_begin = self.refuse_begin, None
            raise refusal
        self._record(name, now)
        check_can_begin(name, running=name in self.running)
        self.running[name] = now
        return self._state(name, now)

    def abandon(self, name: str, began_at: int) -> None:
        self.abandoned.append((name, began_at))
        if self.running.get(name) == began_at:
            del self.running[name]

    async def finish(
        self, name: str, now: int, duration_ms: int, result: JSON | None, error: str | None
    ) -> JobState:
        await trio.lowlevel.checkpoint()
        spec = self.maintenance.spec(name)
        self._record(name, now)
        self.records[name] = finish_run(
            name,
            started_at=self.running.pop(name, now - duration_ms),
            finished_at=now,
            duration_ms=duration_ms,
            interval=interval_ms(spec.interval_seconds),
            result=result,
            error=error,
        )
        return self._state(name, now)

    async def snapshot(self, now: int) -> list[JobState]:
        await trio.lowlevel.checkpoint()
        return [self._state(spec.name, now) for spec in self.maintenance.specs()]

    async def report_failure(self, name: str, error: str) -> None:
        await trio.lowlevel.checkpoint()
        self.failures.append((name, error))


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    """A runtime whose store and actors are never started: these jobs don't use them."""
    return Runtime(
        settings=Settings(data_dir=tmp_path, root_token="r", secret="s"),
        clock=TrioWallClock(),
        store=StoreThread(f"sqlite://{tmp_path / 'unused.sqlite3'}"),
        registry=ActorRegistry(ask_timeout=1),
        events=EventHub(),
    )


@asynccontextmanager
async def serving(
    runtime: Runtime, ledger: MemoryLedger | None = None
) -> AsyncIterator[MemoryLedger]:
    ledger = ledger or MemoryLedger(runtime.maintenance)
    async with trio.open_nursery() as nursery:
        await nursery.start(runtime.maintenance.serve, runtime, ledger)
        try:
            yield ledger
        finally:
            await runtime.maintenance.stop()


def ticker(name: str, interval: float, runs: list[float]) -> JobSpec:
    async def run(_rt: Runtime) -> JSON:
        runs.append(trio.current_time())
        return {"runs": len(runs)}

    return JobSpec(name, interval, run)


async def test_a_job_runs_once_every_interval(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    runs: list[float] = []
    runtime.maintenance.register_job(ticker("tick", 10, runs))
    async with serving(runtime) as ledger:
        await trio.sleep(35)
    assert runs == [10.0, 20.0, 30.0]
    assert ledger.records["tick"] == JobRun(
        name="tick",
        last_run_at=BASE_MS + 30_000,
        duration_ms=0,
        result={"runs": 3},
        error=None,
        next_run_at=BASE_MS + 40_000,
    )


async def test_a_raising_job_keeps_its_schedule_and_reports_each_failure(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    runs: list[float] = []

    async def explode(_rt: Runtime) -> JSON:
        runs.append(trio.current_time())
        raise RuntimeError("disk on fire")

    runtime.maintenance.register_job(JobSpec("explode", 10, explode))
    async with serving(runtime) as ledger:
        await trio.sleep(25)
    assert runs == [10.0, 20.0]
    assert ledger.failures == [("explode", "RuntimeError: disk on fire")] * 2
    assert ledger.records["explode"].error == "RuntimeError: disk on fire"
    assert ledger.records["explode"].next_run_at == BASE_MS + 30_000


async def test_a_slow_job_delays_no_other_job_and_never_overlaps_itself(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    slow_runs: list[float] = []
    fast_runs: list[float] = []

    async def slow(_rt: Runtime) -> JSON:
        slow_runs.append(trio.current_time())
        await trio.sleep(25)
        return {}

    runtime.maintenance.register_job(JobSpec("slow", 10, slow))
    runtime.maintenance.register_job(ticker("fast", 10, fast_runs))
    async with serving(runtime) as ledger:
        await trio.sleep(45)
    assert fast_runs == [10.0, 20.0, 30.0, 40.0]
    # Busy from 10 to 35: the ticks at 20 and 30 are skipped, not queued up.
    assert slow_runs == [10.0, 40.0]
    assert ledger.records["slow"].duration_ms == 25_000


async def test_run_now_returns_the_result_and_restarts_the_interval(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    runs: list[float] = []
    runtime.maintenance.register_job(ticker("tick", 10, runs))
    async with serving(runtime):
        await trio.sleep(4)
        outcome = await runtime.maintenance.run_now("tick")
        await trio.sleep(21)
    assert outcome.result == {"runs": 1}
    assert outcome.error is None
    assert outcome.job.last_run_at == BASE_MS + 4_000
    assert outcome.job.next_run_at == BASE_MS + 14_000
    assert not outcome.job.running
    assert runs == [4.0, 14.0, 24.0]


async def test_run_now_of_a_raising_job_returns_its_error(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    async def explode(_rt: Runtime) -> JSON:
        raise Conflict("nothing to prune")

    runtime.maintenance.register_job(JobSpec("explode", 10, explode))
    async with serving(runtime) as ledger:
        outcome = await runtime.maintenance.run_now("explode")
    assert outcome.error == "nothing to prune"
    assert outcome.job.error == "nothing to prune"
    assert outcome.to_json() == {"job": outcome.job.to_json(), "error": "nothing to prune"}
    assert ledger.failures == [("explode", "nothing to prune")]


async def test_run_now_of_a_job_the_store_did_not_answer_is_unavailable(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    # As any route answers a store that did not answer (503); the run is recorded failed.
    async def starved(_rt: Runtime) -> JSON:
        raise Unavailable("store timed out")

    runtime.maintenance.register_job(JobSpec("starved", 10, starved))
    async with serving(runtime) as ledger:
        with pytest.raises(Unavailable, match=r"^store timed out$"):
            await runtime.maintenance.run_now("starved")
        (state,) = [s for s in await ledger.snapshot(0) if s.name == "starved"]
    assert (state.running, state.error) == (False, "store timed out")
    assert ledger.failures == [("starved", "store timed out")]


async def test_run_now_while_the_job_runs_is_a_conflict(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    entered, release = trio.Event(), trio.Event()

    async def held(_rt: Runtime) -> JSON:
        entered.set()
        await release.wait()
        return {"held": True}

    runtime.maintenance.register_job(JobSpec("held", 3600, held))
    outcomes: list[Any] = []
    async with serving(runtime), trio.open_nursery() as nursery:

        async def first() -> None:
            outcomes.append(await runtime.maintenance.run_now("held"))

        nursery.start_soon(first)
        await entered.wait()
        with pytest.raises(Conflict, match=r"^job held is already running$"):
            await runtime.maintenance.run_now("held")
        release.set()
    assert outcomes[0].result == {"held": True}


async def test_a_scheduled_run_skips_a_job_started_by_run_now(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    entered, release = trio.Event(), trio.Event()
    starts: list[float] = []

    async def held(_rt: Runtime) -> JSON:
        starts.append(trio.current_time())
        entered.set()
        await release.wait()
        return {}

    runtime.maintenance.register_job(JobSpec("held", 10, held))
    async with serving(runtime), trio.open_nursery() as nursery:
        nursery.start_soon(runtime.maintenance.run_now, "held")
        await entered.wait()
        await trio.sleep(15)  # the tick at 10 finds it running
        release.set()
    assert starts == [0.0]


async def test_a_job_registered_while_serving_is_scheduled(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    runs: list[float] = []
    async with serving(runtime):
        await trio.sleep(3)
        runtime.maintenance.register_job(ticker("late", 10, runs))
        await trio.sleep(21)
    assert runs == [13.0, 23.0]


async def test_the_schedule_resumes_from_the_recorded_next_run(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    runs: list[float] = []
    runtime.maintenance.register_job(ticker("tick", 10, runs))
    recorded = JobRun(name="tick", last_run_at=BASE_MS - 7_000, next_run_at=BASE_MS + 3_000)
    ledger = MemoryLedger(runtime.maintenance, {"tick": recorded})
    async with serving(runtime, ledger):
        await trio.sleep(15)
    assert runs == [3.0, 13.0]


async def test_a_refused_begin_is_retried_next_interval(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    runs: list[float] = []
    runtime.maintenance.register_job(ticker("tick", 10, runs))
    async with serving(runtime) as ledger:
        ledger.refuse_begin = Unavailable("maintenance actor timed out")
        await trio.sleep(25)
    assert runs == [20.0]
    # Unanswered, that begin may still be handled: it is abandoned, or the job would stay
    # "running" with no finish to follow.
    assert [name for name, _began_at in ledger.abandoned] == ["tick"]


async def test_a_begin_refused_as_running_is_not_abandoned(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    # "Already running" is another run's flag: abandoning would clear it mid-run.
    runs: list[float] = []
    runtime.maintenance.register_job(ticker("tick", 10, runs))
    async with serving(runtime) as ledger:
        ledger.refuse_begin = Conflict("job tick is already running")
        await trio.sleep(25)
    assert runs == [20.0]
    assert ledger.abandoned == []


async def test_stop_cancels_a_running_job_and_returns(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    cancelled = trio.Event()

    async def forever(_rt: Runtime) -> JSON:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()
        return {}  # pragma: no cover

    runtime.maintenance.register_job(JobSpec("forever", 1, forever))
    async with serving(runtime):
        await trio.sleep(2)
    assert cancelled.is_set()
    with pytest.raises(Unavailable, match=r"^maintenance scheduler is not running$"):
        await runtime.maintenance.run_now("forever")


async def test_a_run_now_cut_short_by_stop_is_unavailable(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    entered = trio.Event()

    async def forever(_rt: Runtime) -> JSON:
        entered.set()
        await trio.sleep_forever()
        return {}  # pragma: no cover

    runtime.maintenance.register_job(JobSpec("forever", 3600, forever))
    refused: list[Exception] = []

    async def caller() -> None:
        try:
            await runtime.maintenance.run_now("forever")
        except Unavailable as exc:
            refused.append(exc)

    async with serving(runtime), trio.open_nursery() as nursery:
        nursery.start_soon(caller)
        await entered.wait()
        await runtime.maintenance.stop()
    assert [str(exc) for exc in refused] == ["maintenance scheduler stopped"]


async def test_serve_fails_to_start_when_the_ledger_does_not_answer(
    runtime: Runtime, autojump_clock: trio.testing.MockClock
) -> None:
    class SilentLedger(MemoryLedger):
        async def snapshot(self, now: int) -> list[JobState]:
            raise Unavailable("maintenance actor timed out")

    ledger = SilentLedger(runtime.maintenance)
    async with trio.open_nursery() as nursery:
        with pytest.raises(Unavailable, match=r"^maintenance actor timed out$"):
            await nursery.start(runtime.maintenance.serve, runtime, ledger)
    async with serving(runtime):  # and it can be served again afterwards
        pass


async def test_run_now_of_an_unknown_job_is_not_found(runtime: Runtime) -> None:
    with pytest.raises(NotFound, match=r"^job not found$"):
        await runtime.maintenance.run_now("nope")


def test_a_job_name_is_registered_once(runtime: Runtime) -> None:
    runtime.maintenance.register_job(ticker("tick", 10, []))
    with pytest.raises(ValueError, match="already registered"):
        runtime.maintenance.register_job(ticker("tick", 5, []))


@pytest.mark.parametrize(("name", "interval"), [("", 1), ("Bad Name", 1), ("x" * 65, 1), ("ok", 0)])
def test_a_job_spec_needs_a_plain_name_and_a_positive_interval(name: str, interval: float) -> None:
    with pytest.raises(ValueError, match="job"):
        ticker(name, interval, [])
