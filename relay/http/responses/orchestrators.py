"""Orchestrators, the agents they manage, and their registration."""

from __future__ import annotations

from pydantic import Field

from relay.domain.agents import Presence
from relay.http.responses.base import JSONObject, Shape

__all__ = ["ManagedAgent", "Orchestrator", "RegisteredOrchestrator"]


class ManagedAgent(Shape):
    agent_id: str
    session_name: str | None
    provider: str | None
    status: str | None


class Orchestrator(Shape):
    id: str
    agent_id: str | None
    name: str
    host: str | None
    base_dir: str
    status: Presence
    capabilities: JSONObject
    runtime: JSONObject
    managed_agents: list[ManagedAgent] = Field(
        description="the sessions the host reports running; to a token limited by agents, "
        "orchestrators or cwd, only those of the agents it reads, judged where each agent "
        "is stored (none of an agent not stored); the same on the event stream"
    )
    registered_at: int
    last_heartbeat_at: int


class RegisteredOrchestrator(Shape):
    orchestrator: Orchestrator
    token: str = Field(description="the orchestrator's runtime token")
    heartbeat_interval_seconds: float
