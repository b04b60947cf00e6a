"""Task use cases as HTTP, MCP and the jobs call them: the board's decision, then what
it calls for beyond the board: a message from ``relay`` to a creator whose task entered
``input_required``, ``needs_human`` or a final status without it, and a wake of a
task's preferred agent.

Both follow a committed change and are courtesies: one the store cannot take now is
logged, never an error for the caller whose change is already made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from relay.actors import artifacts, messaging, tasks
from relay.actors.agent import orchestrators_of, wake_agent
from relay.actors.runtime.context import Runtime
from relay.auth.access import Principal
from relay.domain.tasks import StatusReport, Task, TaskEdit
from relay.domain.tokens import SCOPES
from relay.errors import RelayError, Unavailable

log = logging.getLogger("relay.actors.tasking")

# The relay itself, as the sender of its notices (messaging's sender rule: not an agent).
RELAY = Principal(sub="relay", role="relay", scope=frozenset(SCOPES), constraints={}, is_root=True)

TaskReply = tuple[Task, bool]


async def _is_agent(rt: Runtime, agent_id: str) -> bool:
    return bool(await orchestrators_of(rt, [agent_id]))


async def tell(rt: Runtime, notices: Sequence[tasks.Notice]) -> None:
    """Message each notice's creator, when it is an agent that did not cause it."""
    for notice in notices:
        creator = notice.task.created_by
        if creator == notice.cause:
            continue
        # Not an agent (root, an integration, a token's sub), as stored at create: an
        # agent registered since under a sub's name is not told of the sub's tasks.
        if notice.task.created_by_agent is False:
            continue
        text = tasks.notice_text(notice.task)
        try:
            # Inside the try: the change is committed, and a store that cannot say whether
            # the creator is an agent must not turn its reply into a 503.
            if await _is_agent(rt, creator):
                await messaging.send(rt, RELAY, messaging.SendInput(body=text, to=creator))
        except (Unavailable, RelayError) as error:
            log.warning("task_notice_failed task=%s to=%s: %s", notice.task.id, creator, error)


async def _told(rt: Runtime, decided: tasks.Decided[Any]) -> Any:
    await tell(rt, decided.notices)
    return decided.value, decided.ready


async def create(rt: Runtime, task: Task) -> TaskReply:
    """Create; a preferred agent is woken (reason ``task``)."""
    decided = await tasks.create(rt, task)
    reply: TaskReply = await _told(rt, decided)
    preferred = task.routing_hints.preferred_agent_id
    if preferred is not None:
        try:
            await wake_agent(rt, preferred, "task", task_id=decided.value.id)
        except Unavailable as error:
            log.warning("task_wake_unavailable agent=%s task=%s: %s", preferred, task.id, error)
    return reply


async def claim(
    rt: Runtime, agent_id: str, task_id: str | None, lease_seconds: int
) -> tuple[Task | None, bool]:
    decided = await tasks.claim(rt, agent_id, task_id, lease_seconds)
    await tell(rt, decided.notices)
    return decided.value, decided.ready


async def attachment_refs(
    rt: Runtime, caller: Principal, given: Sequence[dict[str, Any]]
) -> tuple[dict[str, Any], ...]:
    """Each ``{artifactId}`` as the ``AttachmentRef`` the task keeps (its fields outlive
    the artifact); 404 ``artifact not found``, 403 for a secret one the caller may not read."""
    refs = []
    for attachment in given:
        artifact = await artifacts.allow_artifact(rt, caller, str(attachment["artifactId"]))
        refs.append(artifact.ref().to_json())
    return tuple(refs)


async def report(
    rt: Runtime, caller: Principal, task_id: str, status: StatusReport, version: int | None
) -> TaskReply:
    async def with_refs(given: StatusReport) -> StatusReport:
        return replace(given, artifacts=await attachment_refs(rt, caller, given.artifacts))

    prepare = with_refs if status.artifacts else None
    decided = await tasks.report(rt, caller, task_id, status, version, prepare=prepare)
    reply: TaskReply = await _told(rt, decided)
    return reply


async def renew(
    rt: Runtime, caller: Principal, task_id: str, lease_seconds: int | None
) -> TaskReply:
    reply: TaskReply = await _told(rt, await tasks.renew(rt, caller, task_id, lease_seconds))
    return reply


async def edit(
    rt: Runtime, caller: Principal, task_id: str, changes: TaskEdit, version: int | None
) -> TaskReply:
    reply: TaskReply = await _told(rt, await tasks.edit(rt, caller, task_id, changes, version))
    return reply


async def cancel(rt: Runtime, caller: Principal, task_id: str, reason: str | None) -> TaskReply:
    reply: TaskReply = await _told(rt, await tasks.cancel(rt, caller, task_id, reason))
    return reply


async def requeue(rt: Runtime, caller: Principal, task_id: str) -> TaskReply:
    reply: TaskReply = await _told(rt, await tasks.requeue(rt, caller, task_id))
    return reply


async def task_lease_expiry(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: release tasks whose lease passed → ``{requeued, needsHuman}``."""
    decided = await tasks.apply_due(rt)
    await tell(rt, decided.notices)
    return dict(decided.value)
