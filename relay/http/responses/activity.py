"""The activity feed."""

from __future__ import annotations

from relay.http.responses.base import JSONObject, Shape

__all__ = ["ActivityEvent"]


class ActivityEvent(Shape):
    id: int
    kind: str
    title: str
    metadata: JSONObject
    created_at: int
    client_id: str | None = None
    body: str | None = None
    meta: str | None = None
    icon: str | None = None
    view: str | None = None
    agent_id: str | None = None
    orchestrator_id: str | None = None
    path: str | None = None
