"""Orchestrator rules as pure functions: registration, heartbeats, the runtime token."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from relay.auth.profiles import ORCHESTRATOR
from relay.auth.tokens import TokenSpec
from relay.domain.orchestrators import ManagedAgent, Orchestrator, OrchestratorRegistration

RUNTIME_TOKEN_TTL_SECONDS = 30 * 86_400


def register_orchestrator(
    existing: Orchestrator | None, reg: OrchestratorRegistration, now: int
) -> Orchestrator:
    """The orchestrator after a (re-)registration; registering counts as a heartbeat."""
    if existing is None:
        return Orchestrator(
            id=reg.id,
            agent_id=reg.agent_id,
            name=reg.name or reg.id,
            host=reg.host,
            base_dir=reg.base_dir,
            status="online",
            capabilities=dict(reg.capabilities or {}),
            runtime=dict(reg.runtime or {}),
            managed_agents=reg.managed_agents or (),
            registered_at=now,
            last_heartbeat_at=now,
        )
    return replace(
        existing,
        agent_id=reg.agent_id if reg.agent_id is not None else existing.agent_id,
        name=reg.name or existing.name,
        host=reg.host if reg.host is not None else existing.host,
        base_dir=reg.base_dir,
        capabilities=reg.capabilities if reg.capabilities is not None else existing.capabilities,
        runtime=reg.runtime if reg.runtime is not None else existing.runtime,
        managed_agents=(
            reg.managed_agents if reg.managed_agents is not None else existing.managed_agents
        ),
        status="online",
        last_heartbeat_at=now,
    )


def heartbeat(
    orch: Orchestrator,
    now: int,
    *,
    managed_agents: tuple[ManagedAgent, ...] | None,
    runtime: dict[str, Any] | None,
) -> Orchestrator:
    return replace(
        orch,
        status="online",
        last_heartbeat_at=now,
        managed_agents=managed_agents if managed_agents is not None else orch.managed_agents,
        runtime=runtime if runtime is not None else orch.runtime,
    )


def runtime_token_spec(
    orch: Orchestrator, scope: tuple[str, ...] = ORCHESTRATOR.scope
) -> TokenSpec:
    """The token a (re-)registration hands the orchestrator: the orchestrator profile's role
    and scopes (those of them the registrant may hand out:
    ``relay.http.orchestrator_auth``), for itself and its base dir only."""
    return TokenSpec(
        sub=f"orchestrator:{orch.id}",
        role=ORCHESTRATOR.role,
        scope=scope,
        constraints=runtime_token_constraints(orch.id, orch.base_dir),
        ttl_seconds=RUNTIME_TOKEN_TTL_SECONDS,
    )


def runtime_token_constraints(orchestrator_id: str, base_dir: str) -> dict[str, list[str]]:
    """The runtime token's constraints, which a constrained caller registering the
    orchestrator must be able to grant (``relay.http.orchestrator_auth``): the relay hands
    the token to that caller."""
    return {"orchestrators": [orchestrator_id], "cwd": [base_dir]}
