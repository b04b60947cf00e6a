"""Orchestrators (the hosts' daemons) as values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.domain.agents import Presence

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ManagedAgent:
    agent_id: str
    session_name: str | None
    provider: str | None
    status: str | None

    def to_json(self) -> JSON:
        return {
            "agentId": self.agent_id,
            "sessionName": self.session_name,
            "provider": self.provider,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class Orchestrator:
    id: str
    agent_id: str | None
    name: str
    host: str | None
    base_dir: str
    status: Presence
    capabilities: JSON
    runtime: JSON
    managed_agents: tuple[ManagedAgent, ...]
    registered_at: int
    last_heartbeat_at: int

    def manages(self, agent_id: str) -> bool:
        return any(managed.agent_id == agent_id for managed in self.managed_agents)

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "agentId": self.agent_id,
            "name": self.name,
            "host": self.host,
            "baseDir": self.base_dir,
            "status": self.status,
            "capabilities": self.capabilities,
            "runtime": self.runtime,
            "managedAgents": [managed.to_json() for managed in self.managed_agents],
            "registeredAt": self.registered_at,
            "lastHeartbeatAt": self.last_heartbeat_at,
        }


@dataclass(frozen=True, slots=True)
class OrchestratorRegistration:
    id: str
    name: str | None
    base_dir: str
    agent_id: str | None = None
    host: str | None = None
    capabilities: JSON | None = None
    runtime: JSON | None = None
    managed_agents: tuple[ManagedAgent, ...] | None = None
