"""Agent routes: register, heartbeat, read, patch, delete, timeline, control actions."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import Field
from quart import Blueprint
from quart_schema import document_request

from relay.actors import agent
from relay.actors.agent.action_rules import AgentAction
from relay.actors.agent.host_meta import LABEL_CONSTRAINTS
from relay.actors.runtime import Ask
from relay.auth.access import is_host_runtime
from relay.domain.agents import (
    PRESENCES,
    AgentPatch,
    AgentRegistration,
    TimelineInput,
    placement_of,
)
from relay.errors import NotFound
from relay.http import responses
from relay.http.auth import (
    allow,
    allow_agent,
    can_see_agent,
    limited_by,
    principal,
    requires,
)
from relay.http.command_auth import allow_command_params
from relay.http.contract import int_param, responds, str_param
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_choice, query_int, query_str
from relay.store import agents as agent_store

bp = Blueprint("agents", __name__)

Name = Field(default=None, min_length=1, max_length=200)
Tags = Field(default=None, max_length=100)


T = TypeVar("T")


class RegisterAgentBody(Body):
    id: str = Field(min_length=1, max_length=200, pattern=r"^[^/\s]+$")
    name: str | None = Name
    kind: str | None = Field(default=None, min_length=1, max_length=64)
    ready: bool | None = None
    tags: list[str] | None = Tags
    orchestrator_id: str | None = Field(default=None, min_length=1, max_length=200)
    provider_capabilities: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class PatchAgentBody(Body):
    name: str | None = Name
    ready: bool | None = None
    tags: list[str] | None = Tags
    meta: dict[str, Any] | None = None
    provider_capabilities: dict[str, Any] | None = None


class TimelineBody(Body):
    kind: str = Field(default="note", min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=1000)
    body: str | None = Field(default=None, max_length=100_000)
    metadata: dict[str, Any] = Field(default_factory=dict)


class AgentActionBody(Body):
    action: AgentAction


async def _ask(agent_id: str, message: Ask[T]) -> T:
    return await services().runtime.registry.ask(agent.KIND, agent_id, message)


@bp.post("/api/agents")
@responds({201: responses.RegisteredAgent, 200: responses.RegisteredAgent}, errors=(409,))
@document_request(RegisterAgentBody)
@requires("agent:write")
async def register_agent() -> tuple[dict[str, Any], int]:
    body = await parse_body(RegisterAgentBody)
    await allow_agent(body.id, body.orchestrator_id, registering=True)
    registration = AgentRegistration(
        id=body.id,
        name=body.name,
        kind=body.kind,
        ready=body.ready,
        tags=tuple(body.tags) if body.tags is not None else None,
        orchestrator_id=body.orchestrator_id,
        provider_capabilities=body.provider_capabilities,
        meta=body.meta,
    )
    # A caller limited to agents or paths may not steer a host through its card, nor one
    # limited by path move it past its paths (it acts for agents by their cwd): judged by
    # the agent's actor, on the card it holds (``host_meta.steers_host``, ``moves_past_paths``).
    guarded = host_guarded()
    caller = principal()
    register = agent.Register(
        registration,
        host_guarded=guarded,
        paths=caller.path_limit,
        labels=label_limits(),
        **host_limits(body.id),
    )
    card, created = await _ask(body.id, register)
    await agent.link_resumed_session(services().runtime, card, may_touch=can_see_agent)
    interval = services().runtime.settings.heartbeat_interval_seconds
    return {**card.to_json(), "heartbeatIntervalSeconds": interval}, 201 if created else 200


@bp.post("/api/agents/<agent_id>/heartbeat")
@responds(responses.AgentCard)
@requires("agent:write")
async def heartbeat(agent_id: str) -> dict[str, Any]:
    await allow_agent(agent_id)
    card = await _ask(agent_id, agent.Heartbeat())
    return card.to_json()


@bp.get("/api/agents")
@responds(
    list[responses.AgentCard],
    query=(
        str_param("status", enum=PRESENCES),
        str_param("orchestratorId", 200),
        str_param("tag"),
    ),
)
@requires("agent:read")
async def list_agents() -> list[dict[str, Any]]:
    status = query_choice("status", PRESENCES)
    orchestrator_id = query_str("orchestratorId", max_length=200)
    tag = query_str("tag")
    cards = await services().runtime.store.run(
        lambda: agent_store.list_cards(status=status, orchestrator_id=orchestrator_id, tag=tag)
    )
    return [
        card.to_json()
        for card in cards
        if can_see_agent(card.id, placement_of(card.orchestrator_id, card.meta))
    ]


@bp.get("/api/agents/<agent_id>")
@responds(responses.AgentCard)
@requires("agent:read")
async def get_agent(agent_id: str) -> dict[str, Any]:
    await allow_agent(agent_id)
    card = await services().runtime.store.run(lambda: agent_store.load(agent_id))
    if card is None:
        raise NotFound("agent not found")
    return card.to_json()


@bp.patch("/api/agents/<agent_id>")
@responds(responses.AgentCard)
@document_request(PatchAgentBody)
@requires("agent:write")
async def patch_agent(agent_id: str) -> dict[str, Any]:
    body = await parse_body(PatchAgentBody)
    await allow_agent(agent_id)
    patch = AgentPatch(
        name=body.name,
        ready=body.ready,
        tags=tuple(body.tags) if body.tags is not None else None,
        meta=body.meta,
        provider_capabilities=body.provider_capabilities,
    )
    patching = agent.Patch(
        patch,
        host_guarded=host_guarded(),
        paths=principal().path_limit,
        labels=label_limits(),
        **host_limits(agent_id),
    )
    card = await _ask(agent_id, patching)
    return card.to_json()


@bp.delete("/api/agents/<agent_id>")
@responds(responses.DeletedAgent)
@requires("agent:write")
async def delete_agent(agent_id: str) -> dict[str, Any]:
    await allow_agent(agent_id)
    await _ask(agent_id, agent.Delete())
    return {"ok": True, "id": agent_id}


@bp.get("/api/agents/<agent_id>/timeline")
@responds(list[responses.TimelineEntry], query=(int_param("limit", 1, 500),))
@requires("agent:read")
async def get_timeline(agent_id: str) -> list[dict[str, Any]]:
    await allow_agent(agent_id)
    limit = query_int("limit", 50, low=1, high=500)
    store = services().runtime.store
    if await store.run(lambda: agent_store.load(agent_id)) is None:
        raise NotFound("agent not found")
    entries = await store.run(lambda: agent_store.timeline(agent_id, limit))
    return [entry.to_json() for entry in entries]


@bp.post("/api/agents/<agent_id>/timeline")
@responds({201: responses.TimelineEntry})
@document_request(TimelineBody)
@requires("agent:write")
async def post_timeline(agent_id: str) -> tuple[dict[str, Any], int]:
    body = await parse_body(TimelineBody)
    await allow_agent(agent_id)
    entry_input = TimelineInput(
        kind=body.kind, title=body.title, body=body.body, metadata=body.metadata
    )
    entry = await _ask(agent_id, agent.AppendTimeline(entry_input))
    return entry.to_json(), 201


@bp.post("/api/agents/<agent_id>/actions")
@responds({202: responses.CommandReply}, errors=(409, 422))
@document_request(AgentActionBody)
@requires("agent:write")
async def post_action(agent_id: str) -> tuple[dict[str, Any], int]:
    body = await parse_body(AgentActionBody)
    await allow_agent(agent_id)  # where it is stored; the flow judges the rest of the card
    command = await agent.request_action(
        services().runtime,
        agent_id,
        body.action,
        authorize=allow,
        allow_params=allow_command_params,
        source=principal().sub,
        auth=services().auth,
    )
    return {"command": command.to_json()}, 202


def host_guarded() -> bool:
    """Whether the caller's card writes may not steer a host (``host_meta.steers_host``): a
    token limited to agents, or to paths unless it is the host's runtime token. The host
    finds a session by its card's ``sessionName``, ``tmuxSession`` or ``spawnRequestId``
    before its id: a path-limited operator writing another session's name on a card it
    reaches would point that card's shutdown or restart at a session working elsewhere."""
    caller = principal()
    return limited_by("agents") or (limited_by("cwd") and not is_host_runtime(caller))


def label_limits() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The caller's constraints on the card fields its actions are judged on, as (meta
    field, values) (``host_meta.LABEL_CONSTRAINTS``); none for root."""
    caller = principal()
    if caller.is_root:
        return ()
    return tuple(
        (field, tuple(caller.constraints[kind]))
        for field, kind in LABEL_CONSTRAINTS
        if kind in caller.constraints
    )


def host_limits(agent_id: str) -> dict[str, Any]:
    """``hosts`` and ``named`` of ``Register``/``Patch``: the caller's ``orchestrators``
    (none for root, or a caller they do not limit) and whether its ``agents`` name this one."""
    caller = principal()
    hosts = None if caller.is_root else caller.constraints.get("orchestrators")
    if hosts is None:
        return {}
    return {"hosts": tuple(hosts), "named": agent_id in caller.constraints.get("agents", ())}
