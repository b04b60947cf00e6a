"""``task_claim``, ``task_update`` and ``task_create``: the task routes as the token's
agent, through the routes' own helpers (so a tool and its route cannot answer
differently)."""

from __future__ import annotations

from pydantic import Field

from relay.http.mcp.tools import JSON, Tool
from relay.http.tasks import (
    CreateTaskBody,
    StatusBody,
    claim_task,
    create_task,
    heartbeat_task,
    report_status,
)
from relay.http.validation import Body


class TaskClaimArguments(Body):
    task_id: str | None = Field(default=None, min_length=1, max_length=36)
    lease_seconds: int | None = Field(default=None, ge=30, le=3600)


class TaskUpdateArguments(StatusBody):
    task_id: str = Field(min_length=1, max_length=36)
    status: str | None = None  # type: ignore[assignment]  # none: a heartbeat
    lease_seconds: int | None = Field(default=None, ge=30, le=3600)


async def claim(caller: str, arguments: TaskClaimArguments) -> JSON:
    return await claim_task(caller, arguments.task_id, arguments.lease_seconds)


async def update(_caller: str, arguments: TaskUpdateArguments) -> JSON:
    if arguments.status is None:
        return await heartbeat_task(arguments.task_id, arguments.lease_seconds)
    return await report_status(arguments.task_id, arguments)


async def create(_caller: str, arguments: CreateTaskBody) -> JSON:
    return await create_task(arguments)


TASK_CLAIM = Tool(
    name="task_claim",
    description=(
        "Claim a task for yourself: taskId, or the next task you are eligible for (task is"
        " null when none). It is yours for leaseSeconds (default 300): report progress with"
        " task_update before the lease ends or it goes back on the board."
    ),
    scope="task:write",
    arguments=TaskClaimArguments,
    run=claim,
)

TASK_UPDATE = Tool(
    name="task_update",
    description=(
        "Report on a task you hold: status (working, input_required, completed, failed,"
        " rejected, or submitted to let it go) with message, result and artifacts; without"
        " status, renew its lease (leaseSeconds). version: refuse if it changed meanwhile."
    ),
    scope="task:write",
    arguments=TaskUpdateArguments,
    run=update,
)

TASK_CREATE = Tool(
    name="task_create",
    description=(
        "Create a task (title, body, contextId, referenceTaskIds, dependsOn, routingHints"
        " {requiredCapabilities, labels, tags, preferredAgentId, provider}, maxAttempts);"
        " you are told by message when it needs input, a human, or ends."
    ),
    scope="task:write",
    arguments=CreateTaskBody,
    run=create,
)
