"""Maintenance jobs: their state and a run on demand."""

from __future__ import annotations

from typing import Any

from relay.http.responses.base import Shape

__all__ = ["JobRun", "JobState"]


class JobState(Shape):
    name: str
    interval_seconds: float
    running: bool
    last_run_at: int | None
    duration_ms: int | None
    result: Any
    error: str | None
    next_run_at: int | None


class JobRun(Shape):
    """``result`` when the job ran, ``error`` when it raised."""

    job: JobState
    result: Any = None
    error: str | None = None
