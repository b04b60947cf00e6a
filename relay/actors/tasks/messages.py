"""The messages TaskBoardActor understands; each names the reply it gets.

Every reply is a ``Decided``: the value, and the tasks that entered a status their
creator is told about (``Notice``), for the flow above to message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from relay.actors.runtime.bridge import Ask
from relay.domain.agents import AgentCard
from relay.domain.tasks import Presence, StatusReport, Task, TaskEdit

KIND = "tasks"
BOARD = "board"  # the one key: all tasks, so a claim picks and marks at once

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Notice:
    """``task`` entered a notified status because of ``cause`` (None: the relay itself)."""

    task: Task
    cause: str | None


@dataclass(frozen=True, slots=True)
class Decided(Generic[T]):
    value: T
    ready: bool = True  # whether the task (when ``value`` is one) has its dependencies done
    notices: tuple[Notice, ...] = ()


@dataclass(frozen=True, slots=True)
class Create(Ask[Decided[Task]]):
    """Put a new task on the board (``submitted``, version 1)."""

    task: Task


@dataclass(frozen=True, slots=True)
class Claim(Ask[Decided[Task | None]]):
    """Claim ``task_id`` (or the next one, promise 5) for ``agent``'s agent under a lease
    of ``lease_ms``. ``presence``: which agents that submitted tasks prefer are online, as
    stored when the claim was asked (the board asks the store about the others). Replies the
    task (None: nothing to claim next). Raises NotFound ``task not found``, Conflict ``task
    is <status>`` / ``task is waiting on dependencies`` / ``agent does not match the task's
    routing hints``."""

    agent: AgentCard
    presence: Presence
    lease_ms: int
    task_id: str | None = None


@dataclass(frozen=True, slots=True)
class Report(Ask[Decided[Task]]):
    """The assignee ``by`` reports ``report.status``. Raises NotFound, Conflict (``task is
    <status>``, ``task is not assigned to you``, ``version conflict…``, ``cannot move…``)."""

    task_id: str
    by: str | None
    report: StatusReport
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Renew(Ask[Decided[Task]]):
    """A heartbeat of the assignee ``by``: the lease runs ``lease_ms`` (None: as claimed)
    from now again; the version stays."""

    task_id: str
    by: str | None
    lease_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Edit(Ask[Decided[Task]]):
    """``PATCH``: only ``submitted`` / ``needs_human`` tasks (Conflict ``task is <status>;
    cannot edit``)."""

    task_id: str
    edit: TaskEdit
    version: int | None = None


@dataclass(frozen=True, slots=True)
class Cancel(Ask[Decided[Task]]):
    """Cancel (a final task is answered unchanged)."""

    task_id: str
    by: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Requeue(Ask[Decided[Task]]):
    """``needs_human`` → ``submitted``, attempt 0 (Conflict ``task is <status>; cannot
    requeue``)."""

    task_id: str
    by: str


@dataclass(frozen=True, slots=True)
class ApplyDue(Ask[Decided[dict[str, int]]]):
    """Release every task whose lease passed. Replies ``{requeued, needsHuman}``."""
