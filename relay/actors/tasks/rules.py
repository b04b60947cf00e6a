"""The task state table (spec/tasks.md) as data, and pure functions over it; ``now`` in ms.

``transition`` is the only way a task changes status: it raises ``Conflict`` with the
spec's words for every move the table does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Literal

from relay.domain.agents import AgentCard
from relay.domain.tasks import (
    CONTEXT_ID_MAX_LENGTH,
    FINAL_STATUSES,
    HINT_MAX_ITEMS,
    HINT_MAX_LENGTH,
    TASK_ID_MAX_LENGTH,
    RoutingHints,
    StatusReport,
    Task,
    TaskStatus,
)
from relay.errors import Conflict, Invalid

Event = Literal["claim", "lease_lost", "cancel", "requeue", "report"]

# An assignee's report: the statuses it may move a task to, from each status.
MOVES: dict[str, frozenset[str]] = {
    "assigned": frozenset({"working", "completed", "failed", "rejected", "submitted"}),
    "working": frozenset({"input_required", "completed", "failed", "rejected", "submitted"}),
    "input_required": frozenset({"working", "completed", "failed", "rejected"}),
}
LEASED: frozenset[str] = frozenset({"assigned", "working"})
# Entering one of these tells the creator (an agent that did not cause it) by message.
NOTIFIED: frozenset[str] = frozenset({"input_required", "needs_human", *FINAL_STATUSES})

NOT_ASSIGNED = "task is not assigned to you"
WAITING = "task is waiting on dependencies"
NO_MATCH = "agent does not match the task's routing hints"


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES


def check_fields(task: Task) -> None:
    """What ``POST /api/tasks`` checks of its body, on a task built elsewhere (an
    automation renders templates into one): Invalid with the route's message, so no length
    the store keeps is left for it to refuse."""

    def text(field: str, value: str | None, most: int) -> None:
        if value is not None and not value:
            raise Invalid(f"{field} must not be empty")
        if value is not None and len(value) > most:
            raise Invalid(f"{field} must be at most {most} characters")

    text("contextId", task.context_id, CONTEXT_ID_MAX_LENGTH)
    for field, ids in (
        ("referenceTaskIds", task.reference_task_ids),
        ("dependsOn", task.depends_on),
    ):
        for index, task_id in enumerate(ids):
            text(f"{field}.{index}", task_id, TASK_ID_MAX_LENGTH)
    hints = task.routing_hints
    text("routingHints.preferredAgentId", hints.preferred_agent_id, HINT_MAX_LENGTH)
    text("routingHints.provider", hints.provider, HINT_MAX_LENGTH)
    for field, items in (
        ("requiredCapabilities", hints.required_capabilities),
        ("labels", hints.labels),
        ("tags", hints.tags),
    ):
        if len(items) > HINT_MAX_ITEMS or not all(isinstance(i, str) for i in items):
            raise Invalid(f"routingHints.{field} must be at most {HINT_MAX_ITEMS} strings")


def check_reporter(task: Task, by: str | None) -> None:
    """A report on a final task, or from anyone but its assignee (``by``: the assignee the
    caller acts for, if any), is refused with the spec's words."""
    if task.final:
        raise Conflict(f"task is {task.status}")
    if by is None or task.assignee != by:
        raise Conflict(NOT_ASSIGNED)


def check_version(task: Task, version: int | None) -> None:
    """Promise 3: a write naming a version that is not current changes nothing."""
    if version is not None and version != task.version:
        raise Conflict(f"version conflict: current version is {task.version}")


def created(task: Task) -> Task:
    """A new task: ``submitted``, attempt 0, version 1."""
    return replace(
        task, status="submitted", attempt=0, version=1, assignee=None, lease_expires_at=None
    )


def _bumped(task: Task, now: int, **changes: Any) -> Task:
    return replace(task, version=task.version + 1, updated_at=now, **changes)


def _released(task: Task, now: int) -> Task:
    """Back on the board, or to a human once its attempts are spent."""
    status: TaskStatus = "needs_human" if task.attempt >= task.max_attempts else "submitted"
    return _bumped(task, now, status=status, assignee=None, lease_expires_at=None)


def transition(
    task: Task,
    event: Event,
    by: str | None,
    now: int,
    *,
    lease_ms: int = 0,
    report: StatusReport | None = None,
    reason: str | None = None,
) -> Task:
    """The task after ``event`` caused by ``by`` (an agent id; None for the relay itself).

    Raises Conflict with the spec's message when the table refuses the event. A cancel of
    a final task is the task unchanged (promise 2: the caller gets a 200).
    """
    if event == "cancel":
        if task.final:
            return task
        return _bumped(
            task,
            now,
            status="canceled",
            lease_expires_at=None,
            status_message=reason if reason is not None else task.status_message,
        )
    if event == "requeue":
        if task.status != "needs_human":
            raise Conflict(f"task is {task.status}; cannot requeue")
        return _bumped(task, now, status="submitted", attempt=0, assignee=None)
    if event == "claim":
        if task.status != "submitted":
            raise Conflict(f"task is {task.status}")
        assert by is not None
        return _bumped(
            task,
            now,
            status="assigned",
            assignee=by,
            attempt=task.attempt + 1,
            lease_expires_at=now + lease_ms,
            lease_ms=lease_ms,
        )
    if event == "lease_lost":
        if task.status not in LEASED:
            raise Conflict(f"task is {task.status}")
        return _released(task, now)
    # A report by the assignee (``submitted``: it lets the task go).
    target = report.status if report is not None else "submitted"
    if task.final:
        raise Conflict(f"task is {task.status}")
    if by is None or task.assignee != by:
        raise Conflict(NOT_ASSIGNED)
    if target not in MOVES.get(task.status, frozenset()):
        raise Conflict(f"cannot move task from {task.status} to {target}")
    if target == "submitted":
        after = _released(task, now)
    else:
        lease = None if target == "input_required" or is_final(target) else now + task.lease_ms
        after = _bumped(task, now, status=target, lease_expires_at=lease)
    if report is not None:
        after = replace(
            after,
            status_message=report.message if report.message is not None else after.status_message,
            result=report.result if report.has_result else after.result,
            artifacts=(*after.artifacts, *report.artifacts),
        )
    return after


def lease_passed(task: Task, now: int) -> bool:
    return (
        task.status in LEASED and task.lease_expires_at is not None and task.lease_expires_at <= now
    )


def renewed(task: Task, by: str | None, now: int, lease_ms: int | None) -> Task:
    """A heartbeat: the lease runs from now again (none in ``input_required``); the version
    stays (promise 3: a renewal is not a change)."""
    if task.final:
        raise Conflict(f"task is {task.status}")
    if by is None or task.assignee != by:
        raise Conflict(NOT_ASSIGNED)
    length = lease_ms if lease_ms is not None else task.lease_ms
    if task.status == "input_required":
        return replace(task, lease_ms=length)
    return replace(task, lease_ms=length, lease_expires_at=now + length)


def edited(
    task: Task,
    now: int,
    *,
    title: str | None,
    body: str | None,
    routing_hints: RoutingHints | None,
    max_attempts: int | None,
) -> Task:
    """``PATCH``: only while nobody holds the task."""
    if task.status not in ("submitted", "needs_human"):
        raise Conflict(f"task is {task.status}; cannot edit")
    changes: dict[str, Any] = {}
    if title is not None and title != task.title:
        changes["title"] = title
    if body is not None and body != task.body:
        changes["body"] = body
    if routing_hints is not None and routing_hints != task.routing_hints:
        changes["routing_hints"] = routing_hints
    if max_attempts is not None and max_attempts != task.max_attempts:
        changes["max_attempts"] = max_attempts
    if not changes:
        return task
    return _bumped(task, now, **changes)


def is_ready(task: Task, completed: Iterable[str] | set[str]) -> bool:
    """Every ``dependsOn`` task is completed."""
    done = completed if isinstance(completed, set | frozenset) else set(completed)
    return all(dep in done for dep in task.depends_on)


def provider_of(card: AgentCard) -> str | None:
    provider = card.meta.get("provider")
    if isinstance(provider, str):
        return provider
    model = (card.provider_capabilities or {}).get("model")
    if isinstance(model, dict) and isinstance(model.get("provider"), str):
        return str(model["provider"])
    return None


def eligible(hints: RoutingHints, card: AgentCard, online: frozenset[str]) -> bool:
    """Whether the agent may hold a task with these hints (``online``: online agent ids)."""
    capabilities = card.meta.get("capabilities")
    # ``meta`` is the agent's free JSON: only its string capabilities can meet a hint.
    items = capabilities if isinstance(capabilities, list) else []
    have = {c for c in items if isinstance(c, str)}
    if not set(hints.required_capabilities) <= have:
        return False
    if hints.labels and card.meta.get("label") not in hints.labels:
        return False
    if not set(hints.tags) <= set(card.tags):
        return False
    if hints.provider is not None and provider_of(card) != hints.provider:
        return False
    preferred = hints.preferred_agent_id
    return preferred is None or preferred == card.id or preferred not in online


def claim_order(task: Task, agent_id: str) -> tuple[int, int, str]:
    """Promise 5: tasks preferring the claimer first, then oldest, then id."""
    return (0 if task.routing_hints.preferred_agent_id == agent_id else 1, task.created_at, task.id)


def pick_next(
    tasks: Iterable[Task], card: AgentCard, online: frozenset[str], completed: set[str]
) -> Task | None:
    """The task claim-next hands ``card``'s agent, or None."""
    candidates = [
        t
        for t in tasks
        if t.status == "submitted"
        and is_ready(t, completed)
        and eligible(t.routing_hints, card, online)
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda t: claim_order(t, card.id))


def notice_text(task: Task) -> str:
    """The relay's message to a task's creator."""
    text = f"task {task.id} is {task.status}"
    return f"{text}: {task.status_message}" if task.status_message else text
