"""The schedule's rules, in trio time (seconds): when a job is due, and which jobs run now.

Pure functions, no clock reads. The ledger keeps next runs as epoch milliseconds;
``deadline_for`` maps one onto trio's clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def deadline_for(next_run_at_ms: int | None, *, now_ms: int, trio_now: float) -> float:
    """The trio deadline matching a wall-clock next run; a past one is due now."""
    if next_run_at_ms is None:
        return trio_now
    return trio_now + max(0, next_run_at_ms - now_ms) / 1000


def is_due(deadline: float, now: float) -> bool:
    return deadline <= now


def due_jobs(deadlines: Mapping[str, float], running: Iterable[str], now: float) -> list[str]:
    """The jobs to start now: due and not already running, the most overdue first."""
    busy = set(running)
    due = [name for name, at in deadlines.items() if name not in busy and is_due(at, now)]
    return sorted(due, key=lambda name: (deadlines[name], name))


def next_wake(deadlines: Mapping[str, float], running: Iterable[str]) -> float:
    """When the scheduler must wake next: the earliest deadline of a job not running.

    A running job is rescheduled when it finishes, which wakes the scheduler anyway.
    """
    busy = set(running)
    return min((at for name, at in deadlines.items() if name not in busy), default=math.inf)
