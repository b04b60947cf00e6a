"""Command routes: create, list, get, and the target's status reports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from quart import Blueprint
from quart_schema import document_request

from relay.actors import commands
from relay.auth.access import Principal, Resource
from relay.domain.commands import STATUSES, Command, CommandSpec, TargetKind
from relay.errors import Forbidden, Invalid
from relay.http import responses
from relay.http.auth import allow, can_see, principal, requires
from relay.http.contract import int_param, responds, str_param
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_int, query_str
from relay.store import commands as command_store

bp = Blueprint("commands", __name__)


class CreateCommandBody(Body):
    type: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    target: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    correlation_id: str | None = Field(default=None, max_length=200)
    ttl_seconds: int | None = Field(default=None, ge=1, le=86_400)


class PatchCommandBody(Body):
    status: Literal["running", "succeeded", "failed", "cancelled"]
    result: Any = None
    error: str | None = Field(default=None, max_length=20_000)


def target_resource(command: Command) -> Resource:
    return resource_of(command.target_kind, command.target)


def resource_of(kind: TargetKind, target: str) -> Resource:
    if kind == "orchestrator":
        return Resource(orchestrator_id=target)
    return Resource(agent_id=target)


def is_target(caller: Principal, kind: TargetKind, target: str) -> bool:
    """Root, or a token constrained to exactly this target's kind and covering it."""
    if caller.is_root:
        return True
    constraint = "orchestrators" if kind == "orchestrator" else "agents"
    return target in caller.constraints.get(constraint, ())


@bp.post("/api/commands")
@responds({201: responses.CommandReply}, errors=(404, 409))
@document_request(CreateCommandBody)
@requires("command:write")
async def create_command() -> tuple[dict[str, Any], int]:
    body = await parse_body(CreateCommandBody)
    rt = services().runtime
    kind, target = await commands.resolve_target(rt, body.target)
    allow(resource_of(kind, target))
    spec = CommandSpec(
        type=body.type,
        target=target,
        target_kind=kind,
        params=body.params,
        source=principal().sub,
        correlation_id=body.correlation_id,
        ttl_seconds=body.ttl_seconds or rt.settings.command_default_ttl_seconds,
    )
    command = await commands.create(rt, spec)
    return {"command": command.to_json()}, 201


@bp.get("/api/commands")
@responds(
    list[responses.Command],
    query=(
        str_param("status", enum=STATUSES),
        str_param("target", 200),
        str_param("type", 64),
        str_param("correlationId", 200),
        int_param("limit", 1, 1000),
    ),
)
@requires("command:read")
async def list_commands() -> list[dict[str, Any]]:
    status = query_str("status")
    if status is not None and status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}")
    target = query_str("target")
    type_ = query_str("type")
    correlation_id = query_str("correlationId")
    limit = query_int("limit", 100, low=1, high=1000)
    found = await services().runtime.store.run(
        lambda: command_store.search(
            target=target, status=status, type_=type_, correlation_id=correlation_id, limit=limit
        )
    )
    return [c.to_json() for c in found if can_see(target_resource(c))]


@bp.get("/api/commands/<command_id>")
@responds(responses.Command)
@requires("command:read")
async def get_command(command_id: str) -> dict[str, Any]:
    command = await commands.load(services().runtime, command_id)
    allow(target_resource(command))
    return command.to_json()


@bp.patch("/api/commands/<command_id>")
@responds(responses.CommandReply, errors=(409,))
@document_request(PatchCommandBody)
@requires("command:write")
async def patch_command(command_id: str) -> dict[str, Any]:
    body = await parse_body(PatchCommandBody)
    caller = principal()

    def authorize(kind: TargetKind, target: str) -> None:
        allow(resource_of(kind, target))
        # Progress and outcomes come from the target itself; anyone allowed to write
        # commands for the target may cancel.
        if body.status != "cancelled" and not is_target(caller, kind, target):
            raise Forbidden("forbidden")

    settlement = await commands.update(
        services().runtime,
        command_id,
        body.status,
        result=body.result,
        error=body.error,
        authorize=authorize,
    )
    return {"command": settlement.command.to_json()}
