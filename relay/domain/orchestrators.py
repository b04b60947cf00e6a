"""Orchestrators (the hosts' daemons) as values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from relay.domain.agents import Presence
from relay.domain.tokens import SUBJECT_MAX_LENGTH

# What token records derive from its id (its runtime token's subject, and who minted a
# token for it): each must fit a token record's column.
HOST_TOKEN_PREFIXES = ("orchestrator:", "registration:", "spawn:", "orchestrator-remint:")
ORCHESTRATOR_ID_MAX_LENGTH = SUBJECT_MAX_LENGTH - max(map(len, HOST_TOKEN_PREFIXES))

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

    def runs(self, session_name: str) -> bool:
        return any(managed.session_name == session_name for managed in self.managed_agents)

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


def keeping_managed(card: JSON, shown: Callable[[str], bool]) -> JSON:
    """An orchestrator's card (``Orchestrator.to_json``, as served or as an event carries
    it) whose ``managedAgents`` keeps only the entries whose ``agentId`` ``shown`` admits;
    ``card`` itself, not a copy, when every entry is kept, so a caller can tell by identity
    that nothing changed (the event stream then re-encodes nothing). An entry naming no
    agent id is left out: there is nothing to judge it by."""
    managed = card.get("managedAgents")
    if not isinstance(managed, list):
        return card
    kept = [
        entry
        for entry in managed
        if isinstance(entry, dict)
        and isinstance(agent_id := entry.get("agentId"), str)
        and shown(agent_id)
    ]
    return card if len(kept) == len(managed) else {**card, "managedAgents": kept}


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
