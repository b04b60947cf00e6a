"""The JSON shapes the task routes return (documentation only, as ``responses``)."""

from __future__ import annotations

from typing import Any, Literal

from relay.http.responses import JSONObject, Shape


class RoutingHints(Shape):
    required_capabilities: list[str]
    labels: list[str]
    tags: list[str]
    preferred_agent_id: str | None = None
    provider: str | None = None


class Task(Shape):
    id: str
    title: str
    body: str
    context_id: str
    reference_task_ids: list[str]
    depends_on: list[str]
    ready: bool
    routing_hints: RoutingHints
    created_by: str
    assignee: str | None
    status: Literal[
        "submitted",
        "assigned",
        "working",
        "input_required",
        "completed",
        "failed",
        "canceled",
        "rejected",
        "needs_human",
    ]
    status_message: str | None
    result: Any
    artifacts: list[JSONObject]
    attempt: int
    max_attempts: int
    lease_expires_at: int | None
    version: int
    created_at: int
    updated_at: int


class Claimed(Shape):
    task: Task | None
