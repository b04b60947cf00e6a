"""Task use cases on the board: create, claim, report, renew, edit, cancel, requeue, read.

Authorization of creators and assignees is decided here from stored state, with
``relay.auth.access.acts_for``; the replies carry the notices ``tasking`` sends.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from relay.actors.runtime.context import Runtime
from relay.actors.tasks import messages as board
from relay.actors.tasks import rules
from relay.actors.tasks.messages import BOARD, KIND, Decided
from relay.actors.tasks.rules import is_ready
from relay.auth.access import (
    Principal,
    acts_for,
    is_named,
    is_unconstrained_operator,
    own_agent,
    sub_is_agent,
)
from relay.domain.agents import Placement
from relay.domain.tasks import TASK_ID_MAX_LENGTH, StatusReport, Task, TaskEdit, TaskFilter
from relay.errors import Forbidden, NotFound
from relay.store import agents as agent_store
from relay.store import tasks as task_store


async def _placements(rt: Runtime, agent_ids: list[str]) -> dict[str, Placement]:
    wanted = tuple(dict.fromkeys(agent_ids))
    if not wanted:
        return {}
    return await rt.store.run(lambda: agent_store.placements_of(wanted))


async def _existing(rt: Runtime, agent_ids: list[str]) -> dict[str, str | None]:
    """Which of these agents exist (no authorization: their orchestrators suffice)."""
    wanted = tuple(dict.fromkeys(agent_ids))
    if not wanted:
        return {}
    return await rt.store.run(lambda: agent_store.orchestrators_of(wanted))


async def creator_of(rt: Runtime, caller: Principal) -> tuple[str, bool]:
    """messaging.md's sender rule with no ``from``: the token's one agent if it acts for it,
    else its sub, unless that sub names an agent it does not act for (403); and whether
    that creator is an agent, stored with the task (``Task.created_by_agent``)."""
    mine = own_agent(caller)
    if mine is not None:
        # Its one agent only if it acts for it (its other constraints cover it as stored).
        found = await _placements(rt, [mine])
        if mine in found and not acts_for(caller, mine, found[mine]):
            raise Forbidden("forbidden")
        return mine, True
    placements = await _placements(rt, [caller.sub])
    if caller.sub in placements and not acts_for(caller, caller.sub, placements[caller.sub]):
        raise Forbidden("forbidden")
    return caller.sub, caller.sub in placements and sub_is_agent(caller)


async def creator_is_agent(rt: Runtime, task: Task) -> bool:
    """Whether the task's creator is an agent: as stored at create; for a task stored
    before that was recorded, decided now."""
    if task.created_by_agent is not None:
        return task.created_by_agent
    return bool(await _existing(rt, [task.created_by]))


async def may_manage(rt: Runtime, caller: Principal, task: Task) -> bool:
    """The creator (acting for it, or being it when it is no agent) and unconstrained
    operators: a dashboard token limited to some agents is judged like any token."""
    if is_unconstrained_operator(caller):
        return True
    if await creator_is_agent(rt, task):
        # An agent creator: who acts for it. Registering an agent named like a sub that
        # created a task takes nothing: that creator's kind is stored.
        placements = await _placements(rt, [task.created_by])
        return acts_for(caller, task.created_by, placements.get(task.created_by))
    return is_named(caller, task.created_by)


async def _stored(rt: Runtime, task_id: str) -> Task:
    found = await rt.store.run(lambda: task_store.load(task_id))
    if found is None:
        raise NotFound("task not found")
    return found


async def _assignee_acted_for(rt: Runtime, caller: Principal, task_id: str) -> str | None:
    return (await _with_assignee_acted_for(rt, caller, task_id))[1]


async def _with_assignee_acted_for(
    rt: Runtime, caller: Principal, task_id: str
) -> tuple[Task, str | None]:
    """The stored task, and its assignee if the caller acts for it (404 for an unknown
    task); None otherwise (the board then refuses with ``task is not assigned to you``, or
    ``task is <status>`` if final). One store call reads the task and where its assignee
    is."""
    task, placements = await rt.store.run(lambda: task_store.with_assignee_placement(task_id))
    if task is None:
        raise NotFound("task not found")
    if task.assignee is None:
        return task, None
    if acts_for(caller, task.assignee, placements.get(task.assignee)):
        return task, task.assignee
    return task, None


async def _manager(rt: Runtime, caller: Principal, task_id: str) -> str:
    """403 unless the caller may manage the task; who it counts as (for notices)."""
    task = await _stored(rt, task_id)
    if not await may_manage(rt, caller, task):
        raise Forbidden("forbidden")
    return own_agent(caller) or caller.sub


async def check_linked(rt: Runtime, task_ids: list[str]) -> None:
    """404 ``task not found`` unless every listed task exists (an id longer than any
    task's names none: the store's column would refuse it)."""
    if any(len(task_id) > TASK_ID_MAX_LENGTH for task_id in task_ids):
        raise NotFound("task not found")
    found = await rt.store.run(lambda: task_store.existing_ids(task_ids))
    if any(task_id not in found for task_id in task_ids):
        raise NotFound("task not found")


async def check_agent(rt: Runtime, agent_id: str | None) -> None:
    if agent_id is not None and not await _existing(rt, [agent_id]):
        raise NotFound("agent not found")


async def create(rt: Runtime, task: Task) -> Decided[Task]:
    """Put ``task`` on the board (its fields checked: 400; its links and preferred agent:
    404)."""
    rules.check_fields(task)
    await check_linked(rt, [*task.reference_task_ids, *task.depends_on])
    await check_agent(rt, task.routing_hints.preferred_agent_id)
    return await rt.registry.ask(KIND, BOARD, board.Create(task))


async def claim(
    rt: Runtime, agent_id: str, task_id: str | None, lease_seconds: int
) -> Decided[Task | None]:
    """Claim ``task_id``, or the next task ``agent_id`` is eligible for (the caller acts
    for ``agent_id``: checked by the route)."""
    card, presence = await rt.store.run(lambda: task_store.claimer_and_presence(agent_id))
    if card is None:
        raise NotFound("agent not found")
    message = board.Claim(card, presence, lease_seconds * 1000, task_id)
    return await rt.registry.ask(KIND, BOARD, message)


async def report(
    rt: Runtime,
    caller: Principal,
    task_id: str,
    status: StatusReport,
    version: int | None,
    *,
    prepare: Callable[[StatusReport], Awaitable[StatusReport]] | None = None,
) -> Decided[Task]:
    """``status`` from the assignee the caller acts for. ``prepare`` (looking up what the
    report names) runs once the caller is known to be that assignee of a task still open,
    as stored: someone else is told so, not whether an artifact it names exists."""
    task, by = await _with_assignee_acted_for(rt, caller, task_id)
    if prepare is not None:
        rules.check_reporter(task, by)  # the board decides again, on the task as it is then
        status = await prepare(status)
    return await rt.registry.ask(KIND, BOARD, board.Report(task_id, by, status, version))


async def renew(
    rt: Runtime, caller: Principal, task_id: str, lease_seconds: int | None
) -> Decided[Task]:
    by = await _assignee_acted_for(rt, caller, task_id)
    lease_ms = lease_seconds * 1000 if lease_seconds is not None else None
    return await rt.registry.ask(KIND, BOARD, board.Renew(task_id, by, lease_ms))


async def edit(
    rt: Runtime, caller: Principal, task_id: str, changes: TaskEdit, version: int | None
) -> Decided[Task]:
    await _manager(rt, caller, task_id)
    if changes.routing_hints is not None:
        await check_agent(rt, changes.routing_hints.preferred_agent_id)
    return await rt.registry.ask(KIND, BOARD, board.Edit(task_id, changes, version))


async def cancel(rt: Runtime, caller: Principal, task_id: str, reason: str | None) -> Decided[Task]:
    by = await _manager(rt, caller, task_id)
    return await rt.registry.ask(KIND, BOARD, board.Cancel(task_id, by, reason))


async def requeue(rt: Runtime, caller: Principal, task_id: str) -> Decided[Task]:
    by = await _manager(rt, caller, task_id)
    return await rt.registry.ask(KIND, BOARD, board.Requeue(task_id, by))


async def apply_due(rt: Runtime) -> Decided[dict[str, int]]:
    """Release every task whose lease passed: ``{requeued, needsHuman}``."""
    return await rt.registry.ask(KIND, BOARD, board.ApplyDue())


async def read(rt: Runtime, task_id: str) -> tuple[Task, bool]:
    """The stored task and whether it is ready."""
    task = await _stored(rt, task_id)
    done = await _completed_among(rt, list(task.depends_on))
    return task, is_ready(task, done)


async def _completed_among(rt: Runtime, task_ids: list[str]) -> set[str]:
    statuses = await rt.store.run(lambda: task_store.statuses_of(task_ids))
    return {task_id for task_id, status in statuses.items() if status == "completed"}


async def list_tasks(rt: Runtime, query: TaskFilter) -> list[tuple[Task, bool]]:
    """Newest first, with ``ready`` judged on the stored dependencies."""
    found = await rt.store.run(lambda: task_store.list_tasks(query))
    done = await _completed_among(rt, [d for t in found for d in t.depends_on])
    pairs = [(t, is_ready(t, done)) for t in found]
    if query.ready is not None:
        pairs = [p for p in pairs if p[1] == query.ready][: query.limit]
    return pairs
