"""The messages MaintenanceActor understands; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.actors.runtime.bridge import Ask
from relay.domain.maintenance import JobState

KIND = "maintenance"
KEY = "jobs"


@dataclass(frozen=True, slots=True)
class Begin(Ask[JobState]):
    """Mark the job running at ``now`` (epoch ms). Replies its ``JobState``.

    Raises:
        NotFound: no such job is registered.
        Conflict: the job is already running.
    """

    name: str
    now: int


@dataclass(frozen=True, slots=True)
class Abandon(Ask[None]):
    """The ``Begin`` of ``name`` at ``began_at`` went unanswered in time and its run did
    not start: once that ``Begin`` is handled (messages are handled in order), the job is
    not running. A later run's flag (another ``began_at``) is left alone."""

    name: str
    began_at: int


@dataclass(frozen=True, slots=True)
class Finish(Ask[JobState]):
    """Record a run that ended at ``now`` and compute its next run. Replies the ``JobState``.

    ``error`` is set when the run raised (``result`` is then ignored). Raises NotFound.
    """

    name: str
    now: int
    duration_ms: int
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot(Ask[list[JobState]]):
    """Every registered job's ``JobState``, in registration order."""

    now: int
