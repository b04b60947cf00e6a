"""Maintenance jobs as values: the persisted last run, and a job's state as listed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class JobRun:
    """What the store keeps of a job: its last run and when it is next due (epoch ms)."""

    name: str
    last_run_at: int | None = None
    duration_ms: int | None = None
    result: JSON | None = None
    error: str | None = None
    next_run_at: int | None = None


@dataclass(frozen=True, slots=True)
class JobState:
    """A job as ``GET /api/maintenance/jobs`` lists it."""

    name: str
    interval_seconds: float
    running: bool
    last_run_at: int | None
    duration_ms: int | None
    result: JSON | None
    error: str | None
    next_run_at: int | None

    def to_json(self) -> JSON:
        return {
            "name": self.name,
            "intervalSeconds": self.interval_seconds,
            "running": self.running,
            "lastRunAt": self.last_run_at,
            "durationMs": self.duration_ms,
            "result": self.result,
            "error": self.error,
            "nextRunAt": self.next_run_at,
        }


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """The answer to a run-now: the job's state after the run, and its result or error."""

    job: JobState
    result: JSON | None
    error: str | None

    def to_json(self) -> JSON:
        if self.error is not None:
            return {"job": self.job.to_json(), "error": self.error}
        return {"job": self.job.to_json(), "result": self.result}
