"""Orchestrator routes: register, heartbeat, managed sessions, read, spawn."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import Field
from quart import Blueprint, request
from quart_schema import document_request

from relay.actors import agent, orchestrator
from relay.actors.runtime import Ask
from relay.auth.access import Resource, normalise_path, reaches_host
from relay.domain.agents import PRESENCES, SpawnRequest
from relay.domain.orchestrators import (
    ORCHESTRATOR_ID_MAX_LENGTH,
    ManagedAgent,
    OrchestratorRegistration,
)
from relay.domain.spawn_body import SpawnBody
from relay.errors import Forbidden, NotFound
from relay.http import responses
from relay.http.auth import allow, principal, requires
from relay.http.contract import responds, str_param
from relay.http.orchestrator_auth import (
    allow_orchestrator_registration,
    allow_orchestrator_report,
    cards_read_by_caller,
)
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_choice
from relay.store import orchestrators as orchestrator_store

bp = Blueprint("orchestrators", __name__)


T = TypeVar("T")


class ManagedAgentBody(Body):
    agent_id: str = Field(min_length=1, max_length=200)
    session_name: str | None = Field(default=None, max_length=200)
    provider: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=64)


class RegisterOrchestratorBody(Body):
    id: str = Field(min_length=1, max_length=ORCHESTRATOR_ID_MAX_LENGTH, pattern=r"^[^/\s]+$")
    agent_id: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    host: str | None = Field(default=None, max_length=255)
    base_dir: str = Field(min_length=1, max_length=4096)
    capabilities: dict[str, Any] | None = None
    runtime: dict[str, Any] | None = None
    managed_agents: list[ManagedAgentBody] | None = Field(default=None, max_length=1000)


class HeartbeatBody(Body):
    managed_agents: list[ManagedAgentBody] | None = Field(default=None, max_length=1000)
    runtime: dict[str, Any] | None = None


class ManagedAgentsBody(Body):
    managed_agents: list[ManagedAgentBody] = Field(max_length=1000)


def _managed(items: list[ManagedAgentBody] | None) -> tuple[ManagedAgent, ...] | None:
    if items is None:
        return None
    return tuple(
        ManagedAgent(
            agent_id=item.agent_id,
            session_name=item.session_name,
            provider=item.provider,
            status=item.status,
        )
        for item in items
    )


async def _ask(orchestrator_id: str, message: Ask[T]) -> T:
    return await services().runtime.registry.ask(orchestrator.KIND, orchestrator_id, message)


@bp.post("/api/orchestrators")
@responds({201: responses.RegisteredOrchestrator, 200: responses.RegisteredOrchestrator})
@document_request(RegisterOrchestratorBody)
@requires("agent:write")
async def register_orchestrator() -> tuple[dict[str, Any], int]:
    body = await parse_body(RegisterOrchestratorBody)
    base_dir = normalise_path(body.base_dir)
    scope = await allow_orchestrator_registration(body.id, body.agent_id, base_dir)
    registration = OrchestratorRegistration(
        id=body.id,
        agent_id=body.agent_id,
        name=body.name,
        host=body.host,
        base_dir=base_dir,
        capabilities=body.capabilities,
        runtime=body.runtime,
        managed_agents=_managed(body.managed_agents),
    )
    svc = services()
    orch, created, token = await orchestrator.register_orchestrator(
        svc.runtime, svc.auth, registration, scope
    )
    [card] = await cards_read_by_caller([orch])
    reply = {
        "orchestrator": card,
        "token": token,
        "heartbeatIntervalSeconds": svc.runtime.settings.heartbeat_interval_seconds,
    }
    return reply, 201 if created else 200


@bp.post("/api/orchestrators/<orchestrator_id>/heartbeat")
@responds(responses.Orchestrator, body_optional=True)
@document_request(HeartbeatBody)
@requires("agent:write")
async def heartbeat(orchestrator_id: str) -> dict[str, Any]:
    await allow_orchestrator_report(orchestrator_id)
    body = await parse_body(HeartbeatBody) if await _has_body() else HeartbeatBody()
    orch = await _ask(
        orchestrator_id,
        orchestrator.Heartbeat(managed_agents=_managed(body.managed_agents), runtime=body.runtime),
    )
    [card] = await cards_read_by_caller([orch])
    return card


@bp.patch("/api/orchestrators/<orchestrator_id>/agents")
@responds(responses.Orchestrator)
@document_request(ManagedAgentsBody)
@requires("agent:write")
async def report_agents(orchestrator_id: str) -> dict[str, Any]:
    body = await parse_body(ManagedAgentsBody)
    await allow_orchestrator_report(orchestrator_id)
    managed = _managed(body.managed_agents) or ()
    orch = await _ask(orchestrator_id, orchestrator.ReportAgents(managed))
    [card] = await cards_read_by_caller([orch])
    return card


@bp.get("/api/orchestrators")
@responds(list[responses.Orchestrator], query=(str_param("status", enum=PRESENCES),))
@requires("agent:read")
async def list_orchestrators() -> list[dict[str, Any]]:
    status = query_choice("status", PRESENCES)
    found = await services().runtime.store.run(lambda: orchestrator_store.list_all(status=status))
    caller = principal()
    return await cards_read_by_caller([o for o in found if reaches_host(caller, o.id, o.base_dir)])


@bp.get("/api/orchestrators/<orchestrator_id>")
@responds(responses.Orchestrator)
@requires("agent:read")
async def get_orchestrator(orchestrator_id: str) -> dict[str, Any]:
    allow(Resource(orchestrator_id=orchestrator_id))
    orch = await services().runtime.store.run(lambda: orchestrator_store.load(orchestrator_id))
    if orch is None:
        raise NotFound("orchestrator not found")
    if not reaches_host(principal(), orch.id, orch.base_dir):
        raise Forbidden("forbidden")
    [card] = await cards_read_by_caller([orch])
    return card


@bp.post("/api/orchestrators/<orchestrator_id>/spawn")
@responds({202: responses.SpawnReply}, errors=(409,))
@document_request(SpawnBody)
@requires("command:write")
async def spawn(orchestrator_id: str) -> tuple[dict[str, Any], int]:
    body = await parse_body(SpawnBody)
    session = SpawnRequest(
        provider=body.provider,
        cwd=normalise_path(body.cwd),
        model=body.model,
        label=body.label,
        policy_name=body.policy_name,
        provider_args=tuple(body.provider_args or ()),
        workspace_mode=body.workspace_mode,
        command=tuple(body.command) if body.command is not None else None,
    )
    svc = services()
    command, spawn_request_id = await agent.spawn_agent(
        svc.runtime,
        svc.auth,
        orchestrator_id,
        session,
        authorize=allow,
        requested_by=principal().sub,
    )
    return {"command": command.to_json(), "spawnRequestId": spawn_request_id}, 202


async def _has_body() -> bool:
    return bool((await request.get_data(cache=True)).strip())
