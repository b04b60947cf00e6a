"""Task routes (spec/tasks.md "Tasks"): create, read, edit, claim, report, heartbeat,
cancel and requeue. Writes go through ``relay.actors.tasking`` (the board, then the
creator's notices and a preferred agent's wake)."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, field_validator
from quart import Blueprint, request
from quart.blueprints import BlueprintSetupState
from quart_schema import document_request
from werkzeug.routing import BaseConverter

from relay.actors import tasking, tasks
from relay.actors.runtime.context import Runtime
from relay.auth.access import Principal, own_agent
from relay.domain.tasks import (
    BODY_MAX_BYTES,
    CONTEXT_ID_MAX_LENGTH,
    HINT_MAX_ITEMS,
    HINT_MAX_LENGTH,
    MAX_ARTIFACTS,
    MAX_LINKED_TASKS,
    MESSAGE_MAX_LENGTH,
    REPORTED_STATUSES,
    RESULT_MAX_BYTES,
    TASK_ID_MAX_LENGTH,
    TASK_STATUSES,
    TITLE_MAX_LENGTH,
    RoutingHints,
    StatusReport,
    Task,
    TaskEdit,
    TaskFilter,
    new_context_id,
    new_task_id,
)
from relay.errors import Invalid
from relay.http import task_responses
from relay.http.auth import allow_acting_for, principal, requires
from relay.http.contract import Query, int_param, responds, str_param
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_choice, query_int, query_str

bp = Blueprint("tasks", __name__)


class TaskIdConverter(BaseConverter):
    """A task id in a path: any segment but ``claim``, so ``/api/tasks/claim`` is one route
    (GET there is 405, not ``task not found``)."""

    regex = r"(?!claim$)[^/]+"


@bp.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    # Before the routes below: a blueprint's deferred steps run in order.
    state.app.url_map.converters.setdefault("task", TaskIdConverter)


M = TypeVar("M", bound=BaseModel)


class RoutingHintsBody(Body):
    required_capabilities: list[str] = Field(default_factory=list, max_length=HINT_MAX_ITEMS)
    labels: list[str] = Field(default_factory=list, max_length=HINT_MAX_ITEMS)
    tags: list[str] = Field(default_factory=list, max_length=HINT_MAX_ITEMS)
    preferred_agent_id: str | None = Field(default=None, min_length=1, max_length=HINT_MAX_LENGTH)
    provider: str | None = Field(default=None, min_length=1, max_length=HINT_MAX_LENGTH)

    def hints(self) -> RoutingHints:
        return RoutingHints(
            required_capabilities=tuple(self.required_capabilities),
            labels=tuple(self.labels),
            tags=tuple(self.tags),
            preferred_agent_id=self.preferred_agent_id,
            provider=self.provider,
        )


def _body_size(value: str | None) -> str | None:
    if value is not None and len(value.encode("utf-8")) > BODY_MAX_BYTES:
        raise ValueError(f"body must be at most {BODY_MAX_BYTES} bytes")
    return value


# A linked id longer than any task id names no task: refused here, before the store's
# column check turns it into a 500.
LinkedTaskId = Annotated[str, Field(min_length=1, max_length=TASK_ID_MAX_LENGTH)]


class CreateTaskBody(Body):
    title: str = Field(min_length=1, max_length=TITLE_MAX_LENGTH)
    body: str = ""
    context_id: str | None = Field(default=None, min_length=1, max_length=CONTEXT_ID_MAX_LENGTH)
    reference_task_ids: list[LinkedTaskId] = Field(
        default_factory=list, max_length=MAX_LINKED_TASKS
    )
    depends_on: list[LinkedTaskId] = Field(default_factory=list, max_length=MAX_LINKED_TASKS)
    routing_hints: RoutingHintsBody | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=20)

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _body_size(value) or ""


class EditTaskBody(Body):
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX_LENGTH)
    body: str | None = None
    routing_hints: RoutingHintsBody | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=20)
    version: int | None = Field(default=None, ge=1)

    @field_validator("body")
    @classmethod
    def _body(cls, value: str | None) -> str | None:
        return _body_size(value)


class ClaimBody(Body):
    agent_id: str | None = Field(default=None, min_length=1, max_length=200)
    lease_seconds: int | None = Field(default=None, ge=30, le=3600)


class ArtifactRefBody(Body):
    artifact_id: str = Field(min_length=1, max_length=200)


class StatusBody(Body):
    status: str
    message: str | None = Field(default=None, max_length=MESSAGE_MAX_LENGTH)
    result: Any = None
    artifacts: list[ArtifactRefBody] = Field(default_factory=list, max_length=MAX_ARTIFACTS)
    version: int | None = Field(default=None, ge=1)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        if value is not None and value not in REPORTED_STATUSES:
            raise ValueError(f"status must be one of {', '.join(REPORTED_STATUSES)}")
        return value

    @field_validator("result")
    @classmethod
    def _result(cls, value: Any) -> Any:
        # Sized as stored, in UTF-8: escaping non-ASCII (``\u00e9``, six bytes) shrank the
        # limit two to three times for text that is not Latin.
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > RESULT_MAX_BYTES:
            raise ValueError(f"result must be at most {RESULT_MAX_BYTES} bytes")
        return value

    def report(self) -> StatusReport:
        assert self.status is not None
        return StatusReport(
            status=self.status,
            message=self.message,
            result=self.result,
            has_result="result" in self.model_fields_set,
            artifacts=tuple({"artifactId": a.artifact_id} for a in self.artifacts),
        )


class HeartbeatBody(Body):
    lease_seconds: int | None = Field(default=None, ge=30, le=3600)


class CancelBody(Body):
    reason: str | None = Field(default=None, max_length=MESSAGE_MAX_LENGTH)


def task_json(task: Task, ready: bool) -> dict[str, Any]:
    return task.to_json(ready)


async def new_task(rt: Runtime, caller: Principal, body: CreateTaskBody) -> Task:
    """The task a create body describes, created by the caller (the sender rule)."""
    now = rt.clock.now_ms()
    created_by, created_by_agent = await tasks.creator_of(rt, caller)
    return Task(
        id=new_task_id(),
        title=body.title,
        body=body.body,
        context_id=body.context_id or new_context_id(),
        created_by=created_by,
        created_by_agent=created_by_agent,
        status="submitted",
        attempt=0,
        max_attempts=body.max_attempts or rt.settings.task_max_attempts,
        version=1,
        created_at=now,
        updated_at=now,
        reference_task_ids=tuple(dict.fromkeys(body.reference_task_ids)),
        depends_on=tuple(dict.fromkeys(body.depends_on)),
        routing_hints=body.routing_hints.hints() if body.routing_hints else RoutingHints(),
    )


async def create_task(body: CreateTaskBody) -> dict[str, Any]:
    """``POST /api/tasks`` and ``task_create``."""
    rt = services().runtime
    task, ready = await tasking.create(rt, await new_task(rt, principal(), body))
    return task_json(task, ready)


async def claim_task(
    agent_id: str | None, task_id: str | None, lease_seconds: int | None
) -> dict[str, Any]:
    """``POST /api/tasks(/:id)/claim`` and ``task_claim``: as ``agent_id`` (default the
    caller's one agent)."""
    rt = services().runtime
    claimer = agent_id or own_agent(principal())
    if claimer is None:
        raise Invalid("agentId is required")
    await allow_acting_for(claimer)
    lease = lease_seconds or rt.settings.task_lease_seconds
    task, ready = await tasking.claim(rt, claimer, task_id, lease)
    return {"task": task_json(task, ready) if task is not None else None}


async def report_status(task_id: str, body: StatusBody) -> dict[str, Any]:
    """``POST /api/tasks/:id/status`` and ``task_update`` with a status."""
    rt = services().runtime
    task, ready = await tasking.report(rt, principal(), task_id, body.report(), body.version)
    return task_json(task, ready)


async def heartbeat_task(task_id: str, lease_seconds: int | None) -> dict[str, Any]:
    """``POST /api/tasks/:id/heartbeat`` and ``task_update`` without a status."""
    task, ready = await tasking.renew(services().runtime, principal(), task_id, lease_seconds)
    return task_json(task, ready)


async def _optional(model: type[M]) -> M:
    has_body = bool((await request.get_data(cache=True)).strip())
    return await parse_body(model) if has_body else model()


def _ready_param() -> bool | None:
    raw = request.args.get("ready")
    if raw is None or raw == "":
        return None
    if raw in ("true", "false"):
        return raw == "true"
    raise Invalid("ready must be true or false")


@bp.post("/api/tasks")
@responds({201: task_responses.Task}, errors=(403, 404))
@document_request(CreateTaskBody)
@requires("task:write")
async def create() -> tuple[dict[str, Any], int]:
    return await create_task(await parse_body(CreateTaskBody)), 201


@bp.get("/api/tasks")
@responds(
    list[task_responses.Task],
    query=(
        str_param("status", enum=TASK_STATUSES),
        str_param("assignee", 200),
        str_param("contextId", 64),
        str_param("createdBy", 200),
        Query("ready", {"type": "boolean"}),
        int_param("limit", 1, 500),
    ),
)
@requires("task:read")
async def list_tasks() -> list[dict[str, Any]]:
    query = TaskFilter(
        status=query_choice("status", TASK_STATUSES),
        assignee=query_str("assignee", max_length=200),
        context_id=query_str("contextId", max_length=64),
        created_by=query_str("createdBy", max_length=200),
        ready=_ready_param(),
        limit=query_int("limit", 50, low=1, high=500),
    )
    found = await tasks.list_tasks(services().runtime, query)
    return [task_json(task, ready) for task, ready in found]


@bp.get("/api/tasks/<task:task_id>")
@responds(task_responses.Task, errors=(404,))
@requires("task:read")
async def get_task(task_id: str) -> dict[str, Any]:
    task, ready = await tasks.read(services().runtime, task_id)
    return task_json(task, ready)


@bp.patch("/api/tasks/<task:task_id>")
@responds(task_responses.Task, errors=(403, 404, 409))
@document_request(EditTaskBody)
@requires("task:write")
async def edit_task(task_id: str) -> dict[str, Any]:
    body = await parse_body(EditTaskBody)
    changes = TaskEdit(
        title=body.title,
        body=body.body,
        routing_hints=body.routing_hints.hints() if body.routing_hints else None,
        max_attempts=body.max_attempts,
    )
    rt = services().runtime
    task, ready = await tasking.edit(rt, principal(), task_id, changes, body.version)
    return task_json(task, ready)


@bp.post("/api/tasks/claim")
@responds(task_responses.Claimed, errors=(403, 404), body_optional=True)
@document_request(ClaimBody)
@requires("task:write")
async def claim_next() -> dict[str, Any]:
    body = await _optional(ClaimBody)
    return await claim_task(body.agent_id, None, body.lease_seconds)


@bp.post("/api/tasks/<task:task_id>/claim")
@responds(task_responses.Claimed, errors=(403, 404, 409), body_optional=True)
@document_request(ClaimBody)
@requires("task:write")
async def claim(task_id: str) -> dict[str, Any]:
    body = await _optional(ClaimBody)
    return await claim_task(body.agent_id, task_id, body.lease_seconds)


@bp.post("/api/tasks/<task:task_id>/status")
@responds(task_responses.Task, errors=(404, 409))
@document_request(StatusBody)
@requires("task:write")
async def status(task_id: str) -> dict[str, Any]:
    return await report_status(task_id, await parse_body(StatusBody))


@bp.post("/api/tasks/<task:task_id>/heartbeat")
@responds(task_responses.Task, errors=(404, 409), body_optional=True)
@document_request(HeartbeatBody)
@requires("task:write")
async def heartbeat(task_id: str) -> dict[str, Any]:
    body = await _optional(HeartbeatBody)
    return await heartbeat_task(task_id, body.lease_seconds)


@bp.post("/api/tasks/<task:task_id>/cancel")
@responds(task_responses.Task, errors=(403, 404), body_optional=True)
@document_request(CancelBody)
@requires("task:write")
async def cancel(task_id: str) -> dict[str, Any]:
    body = await _optional(CancelBody)
    task, ready = await tasking.cancel(services().runtime, principal(), task_id, body.reason)
    return task_json(task, ready)


@bp.post("/api/tasks/<task:task_id>/requeue")
@responds(task_responses.Task, errors=(403, 404, 409))
@requires("task:write")
async def requeue(task_id: str) -> dict[str, Any]:
    task, ready = await tasking.requeue(services().runtime, principal(), task_id)
    return task_json(task, ready)
