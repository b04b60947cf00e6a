"""Command routes: create, list, get, and the target's status reports."""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from pydantic import Field
from quart import Blueprint
from quart_schema import document_request

from relay.actors import commands
from relay.actors.runtime.paging import Cursor, visible_page
from relay.auth.access import Resource
from relay.domain.commands import STATUSES, Command, CommandSpec, TargetKind
from relay.errors import Invalid
from relay.http import responses
from relay.http.auth import can_see, principal, requires
from relay.http.command_auth import (
    allow_command_params,
    allow_command_read,
    allow_command_report,
    allow_command_write,
    allow_hand_made_params,
    command_targets,
    visible_commands,
)
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


@bp.post("/api/commands")
@responds({201: responses.CommandReply}, errors=(404, 409))
@document_request(CreateCommandBody)
@requires("command:write")
async def create_command() -> tuple[dict[str, Any], int]:
    body = await parse_body(CreateCommandBody)
    rt = services().runtime
    kind, target = await commands.resolve_target(rt, body.target)
    await allow_command_write(kind, target)
    await allow_command_params(body.params)
    await allow_hand_made_params(kind, target, body.params)
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
        str_param("agentId", 200),
        int_param("limit", 1, 1000),
    ),
)
@requires("command:read")
async def list_commands() -> list[dict[str, Any]]:
    status = query_str("status")
    if status is not None and status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}")
    target = query_str("target", max_length=200)
    type_ = query_str("type", max_length=64)
    correlation_id = query_str("correlationId", max_length=200)
    # Addressed to the agent, or carried out for it by an orchestrator (params.agentId).
    agent_id = query_str("agentId", max_length=200)
    limit = query_int("limit", 100, low=1, high=1000)
    if agent_id is not None and not can_see(Resource(agent_id=agent_id)):
        # Nothing about an agent outside the caller's constraints: an agents-constrained
        # token sees an orchestrator's commands only about its own (``visible_commands``).
        return []
    found = await _commands_page(
        limit,
        target=target,
        status=status,
        type_=type_,
        correlation_id=correlation_id,
        agent_id=agent_id,
    )
    return [c.to_json() for c in found]


# A constrained caller's page is filled past commands it may not see, in batches of at
# least this many rows, reading at most ``_MAX_SCANNED`` rows in all.
_BATCH = 500
_MAX_SCANNED = 10_000


async def _commands_page(limit: int, **filters: str | None) -> list[Command]:
    """Up to ``limit`` commands the caller sees (``visible_commands``), newest first, read
    on past those it may not (``visible_page``); the store narrows each read by the
    caller's constraints first (``command_targets``)."""
    store = services().runtime.store
    targets = command_targets()

    async def fetch(before: Cursor | None, size: int) -> list[Command]:
        search = partial(command_store.search, targets=targets, before=before, limit=size)
        return await store.run(partial(search, **filters))

    return await visible_page(
        fetch,
        visible_commands,
        lambda c: (c.created_at, c.id),
        limit=limit,
        batch=_BATCH,
        max_scanned=_MAX_SCANNED,
    )


@bp.get("/api/commands/<command_id>")
@responds(responses.Command)
@requires("command:read")
async def get_command(command_id: str) -> dict[str, Any]:
    command = await commands.load(services().runtime, command_id)
    await allow_command_read(command)
    return command.to_json()


@bp.patch("/api/commands/<command_id>")
@responds(responses.CommandReply, errors=(409,))
@document_request(PatchCommandBody)
@requires("command:write")
async def patch_command(command_id: str) -> dict[str, Any]:
    body = await parse_body(PatchCommandBody)

    async def authorize(kind: TargetKind, target: str) -> None:
        await allow_command_report(kind, target, body.status, command_id)

    settlement = await commands.update(
        services().runtime,
        command_id,
        body.status,
        result=body.result,
        error=body.error,
        authorize=authorize,
    )
    return {"command": settlement.command.to_json()}
