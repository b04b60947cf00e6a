"""The MaintenanceActor on a real store: running flags, recorded runs, write-through."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

from relay.actors import Runtime
from relay.actors.maintenance import KEY, KIND, Begin, Finish, Snapshot
from relay.actors.runtime import Ask, JobSpec
from relay.clock import ManualClock
from relay.domain.maintenance import JobRun, JobState
from relay.errors import Conflict, NotFound
from relay.store import maintenance as maintenance_store

T = TypeVar("T")


async def idle_job(_rt: Any) -> dict[str, Any]:
    return {}


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    runtime.maintenance.register_job(JobSpec("probe", 60, idle_job))
    return runtime


async def ask(rt: Runtime, message: Ask[T]) -> T:
    return await rt.registry.ask(KIND, KEY, message)


async def test_snapshot_lists_every_registered_job_in_order(
    rt: Runtime, clock: ManualClock
) -> None:
    states = await ask(rt, Snapshot(clock.now_ms()))
    names = [state.name for state in states]
    assert {"agent-reaper", "activity-retention", "token-pruning", "probe"} <= set(names)
    assert names.index("agent-reaper") < names.index("probe")  # registration order
    probe = states[names.index("probe")]
    assert probe == JobState(
        name="probe",
        interval_seconds=60,
        running=False,
        last_run_at=None,
        duration_ms=None,
        result=None,
        error=None,
        next_run_at=clock.now_ms() + 60_000,
    )


async def test_a_job_begins_once_until_it_finishes(rt: Runtime, clock: ManualClock) -> None:
    now = clock.now_ms()
    begun = await ask(rt, Begin("probe", now))
    assert begun.running
    with pytest.raises(Conflict, match=r"^job probe is already running$"):
        await ask(rt, Begin("probe", now))
    clock.advance(2)
    finished = await ask(rt, Finish("probe", clock.now_ms(), 2000, {"n": 1}))
    assert not finished.running
    assert finished.last_run_at == now
    assert finished.duration_ms == 2000
    assert finished.result == {"n": 1}
    assert finished.next_run_at == now + 60_000
    assert (await ask(rt, Begin("probe", clock.now_ms()))).running


async def test_a_finished_run_is_written_through(rt: Runtime, clock: ManualClock) -> None:
    now = clock.now_ms()
    await ask(rt, Begin("probe", now))
    await ask(rt, Finish("probe", now, 5, None, "boom"))
    rows = await rt.store.run(maintenance_store.load_all)
    assert JobRun("probe", now, 5, None, "boom", now + 60_000) in rows


async def test_an_unknown_job_is_not_found(rt: Runtime, clock: ManualClock) -> None:
    with pytest.raises(NotFound, match=r"^job not found$"):
        await ask(rt, Begin("nope", clock.now_ms()))


async def test_the_actor_is_never_passivated(rt: Runtime, clock: ManualClock) -> None:
    await ask(rt, Begin("probe", clock.now_ms()))
    rt.registry.passivate_idle(0)
    states = await ask(rt, Snapshot(clock.now_ms()))
    assert next(state for state in states if state.name == "probe").running
