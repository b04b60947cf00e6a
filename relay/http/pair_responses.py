"""The JSON shapes of pairs and integrations, as ``/openapi.json`` documents them
(``relay.http.responses`` has the rest)."""

from __future__ import annotations

from typing import Any, Literal

from relay.http.responses import Shape


class Pair(Shape):
    id: str
    driver: str
    navigator: str
    conversation_id: str
    status: Literal["forming", "active", "awaiting_review", "completed", "aborted"]
    joined: list[str]
    created_by: str
    version: int
    created_at: int
    updated_at: int
    task_id: str | None = None
    objective: str | None = None


class IntegrationEvent(Shape):
    id: str
    integration: str
    delivery_id: str
    type: str
    payload: dict[str, Any]
    received_at: int
    subject: str | None = None
    occurred_at: int | None = None


class ReceivedEvent(Shape):
    event: IntegrationEvent
    dispatches: list[dict[str, Any]]
    duplicate: bool | None = None


class IntegrationSummary(Shape):
    name: str
    scopes: list[str]
    per_minute: int
    events24h: int
    last_event_at: int | None = None
