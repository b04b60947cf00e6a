"""The schedule's rules in trio time: deadlines, which jobs are due, when to wake."""

from __future__ import annotations

import math

import pytest

from relay.actors.runtime.schedule_rules import deadline_for, due_jobs, is_due, next_wake

NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("next_run", "now_ms", "trio_now", "expected"),
    [
        (NOW + 2_500, NOW, 100.0, 102.5),
        (NOW - 2_500, NOW, 100.0, 100.0),  # overdue: now
        (None, NOW, 100.0, 100.0),
    ],
)
def test_deadline_maps_wall_clock_onto_trio_time(
    next_run: int | None, now_ms: int, trio_now: float, expected: float
) -> None:
    assert deadline_for(next_run, now_ms=now_ms, trio_now=trio_now) == expected


@pytest.mark.parametrize(
    ("deadline", "now", "due"), [(9.9, 10.0, True), (10.0, 10.0, True), (10.1, 10.0, False)]
)
def test_is_due(deadline: float, now: float, due: bool) -> None:
    assert is_due(deadline, now) is due


def test_due_jobs_skips_running_ones_and_starts_the_most_overdue_first() -> None:
    deadlines = {"a": 5.0, "b": 1.0, "c": 3.0, "d": 11.0}
    assert due_jobs(deadlines, {"c"}, now=10.0) == ["b", "a"]


def test_next_wake_is_the_earliest_deadline_of_an_idle_job() -> None:
    deadlines = {"a": 5.0, "b": 1.0, "c": 3.0}
    assert next_wake(deadlines, {"b"}) == 3.0
    assert next_wake(deadlines, {"a", "b", "c"}) == math.inf
    assert next_wake({}, ()) == math.inf
