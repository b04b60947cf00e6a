"""The maintenance ledger's rules: a job's record, its next run, whether it may begin.

Pure functions, no clock reads. Times are epoch milliseconds (what the store keeps and
the API shows); the scheduler's side, in trio time, is ``relay.actors.runtime.schedule_rules``.
"""

from __future__ import annotations

from typing import Any

from relay.domain.maintenance import JobRun, JobState
from relay.errors import Conflict


def interval_ms(interval_seconds: float) -> int:
    """A job's interval in whole milliseconds (at least 1)."""
    return max(1, round(interval_seconds * 1000))


def adopt(record: JobRun | None, name: str, *, now: int, interval: int) -> JobRun:
    """A registered job's record when the schedule first takes it up (at start, or when added).

    A job that never ran is first due one interval from now. One that ran is due one
    interval after its last run (the *current* interval, so a shortened interval
    applies at once), or at its recorded next run if that is earlier; either may lie
    in the past, which makes the job due straight away.
    """
    if record is None:
        return JobRun(name=name, next_run_at=now + interval)
    candidates = [
        at
        for at in (
            record.next_run_at,
            None if record.last_run_at is None else record.last_run_at + interval,
        )
        if at is not None
    ]
    next_run = min(candidates) if candidates else now + interval
    if next_run == record.next_run_at:
        return record
    return JobRun(
        name=record.name,
        last_run_at=record.last_run_at,
        duration_ms=record.duration_ms,
        result=record.result,
        error=record.error,
        next_run_at=next_run,
    )


def next_run_at(started_at: int, finished_at: int, interval: int) -> int:
    """The first tick ``started_at + k * interval`` (k ≥ 1) after ``finished_at``.

    A job that overran its interval skips the ticks it missed instead of running
    back to back to catch up.
    """
    elapsed = max(0, finished_at - started_at)
    ticks = elapsed // interval + 1
    return started_at + ticks * interval


def check_can_begin(name: str, *, running: bool) -> None:
    """Raise ``Conflict`` when the job is already running: each job runs at most once at a time."""
    if running:
        raise Conflict(f"job {name} is already running")


def finish_run(
    name: str,
    *,
    started_at: int,
    finished_at: int,
    duration_ms: int,
    interval: int,
    result: dict[str, Any] | None,
    error: str | None,
) -> JobRun:
    """The record of a finished run: a success clears the last error, a failure the result."""
    return JobRun(
        name=name,
        last_run_at=started_at,
        duration_ms=max(0, duration_ms),
        result=None if error is not None else result,
        error=error,
        next_run_at=next_run_at(started_at, finished_at, interval),
    )


def job_state(record: JobRun, *, interval_seconds: float, running: bool) -> JobState:
    return JobState(
        name=record.name,
        interval_seconds=interval_seconds,
        running=running,
        last_run_at=record.last_run_at,
        duration_ms=record.duration_ms,
        result=record.result,
        error=record.error,
        next_run_at=record.next_run_at,
    )
