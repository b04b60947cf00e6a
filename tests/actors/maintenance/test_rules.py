"""The maintenance schedule's pure rules: next run, due, and what the scheduler starts."""

from __future__ import annotations

import pytest

from relay.actors.maintenance.rules import (
    adopt,
    check_can_begin,
    finish_run,
    interval_ms,
    next_run_at,
)
from relay.actors.runtime.schedule_rules import deadline_for, is_due
from relay.domain.maintenance import JobRun
from relay.errors import Conflict

NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("started", "finished", "interval", "expected"),
    [
        (0, 0, 10_000, 10_000),  # instant run: one interval after it started
        (0, 3_000, 10_000, 10_000),  # a run shorter than its interval keeps the rhythm
        (0, 10_000, 10_000, 20_000),  # finishing on a tick skips that tick
        (0, 25_000, 10_000, 30_000),  # an overrun skips the ticks it missed
        (5_000, 4_000, 10_000, 15_000),  # a clock that stepped back never schedules earlier
    ],
)
def test_next_run_is_the_first_tick_after_the_run_finished(
    started: int, finished: int, interval: int, expected: int
) -> None:
    assert next_run_at(started, finished, interval) == expected


def test_interval_ms_rounds_and_is_never_zero() -> None:
    assert interval_ms(10) == 10_000
    assert interval_ms(0.0004) == 1


def test_a_job_never_run_is_first_due_one_interval_from_now() -> None:
    assert adopt(None, "j", now=NOW, interval=10_000) == JobRun(name="j", next_run_at=NOW + 10_000)


def test_a_recorded_next_run_is_kept() -> None:
    record = JobRun(name="j", last_run_at=NOW - 4_000, next_run_at=NOW + 6_000)
    assert adopt(record, "j", now=NOW, interval=10_000) is record


def test_a_shortened_interval_applies_from_the_last_run() -> None:
    record = JobRun(name="j", last_run_at=NOW - 4_000, next_run_at=NOW + 3_596_000, result={})
    adopted = adopt(record, "j", now=NOW, interval=5_000)
    assert adopted.next_run_at == NOW + 1_000
    assert adopted.result == {}  # the rest of the record stays


def test_a_job_overdue_after_a_restart_is_due_at_once() -> None:
    record = JobRun(name="j", last_run_at=NOW - 60_000, next_run_at=NOW - 50_000)
    adopted = adopt(record, "j", now=NOW, interval=10_000)
    assert adopted.next_run_at is not None
    assert is_due(deadline_for(adopted.next_run_at, now_ms=NOW, trio_now=7.0), 7.0)


def test_a_record_without_times_is_due_one_interval_from_now() -> None:
    assert adopt(JobRun(name="j"), "j", now=NOW, interval=10_000).next_run_at == NOW + 10_000


def test_a_running_job_cannot_begin_again() -> None:
    check_can_begin("j", running=False)
    with pytest.raises(Conflict, match=r"^job j is already running$"):
        check_can_begin("j", running=True)


def test_a_successful_run_clears_the_last_error() -> None:
    run = finish_run(
        "j",
        started_at=NOW,
        finished_at=NOW + 200,
        duration_ms=200,
        interval=10_000,
        result={"changed": 2},
        error=None,
    )
    assert run == JobRun(
        name="j",
        last_run_at=NOW,
        duration_ms=200,
        result={"changed": 2},
        error=None,
        next_run_at=NOW + 10_000,
    )


def test_a_failed_run_records_its_error_and_no_result() -> None:
    run = finish_run(
        "j",
        started_at=NOW,
        finished_at=NOW,
        duration_ms=0,
        interval=10_000,
        result={"stale": True},
        error="boom",
    )
    assert run.error == "boom"
    assert run.result is None
    assert run.next_run_at == NOW + 10_000
