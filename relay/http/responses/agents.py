"""Agents: cards, timelines, deletion and the actions an agent supports."""

from __future__ import annotations

from relay.domain.agents import Presence
from relay.http.responses.base import JSONObject, Ok, Shape

__all__ = ["ActionAvailability", "AgentCard", "DeletedAgent", "RegisteredAgent", "TimelineEntry"]


class AgentCard(Shape):
    id: str
    name: str
    kind: str
    status: Presence
    ready: bool
    tags: list[str]
    meta: JSONObject
    registered_at: int
    last_seen_at: int
    orchestrator_id: str | None = None
    provider_capabilities: JSONObject | None = None


class RegisteredAgent(AgentCard):
    heartbeat_interval_seconds: float


class TimelineEntry(Shape):
    id: int
    agent_id: str
    kind: str
    title: str
    metadata: JSONObject
    created_at: int
    body: str | None = None


class DeletedAgent(Ok):
    id: str


class ActionAvailability(Shape):
    action: str
    available: bool
    reason: str | None
