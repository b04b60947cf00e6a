"""Tasks as values (spec/tasks.md "Tasks"): a unit of work an agent claims under a lease."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]

TaskStatus = Literal[
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
TASK_STATUSES: tuple[TaskStatus, ...] = (
    "submitted",
    "assigned",
    "working",
    "input_required",
    "completed",
    "failed",
    "canceled",
    "rejected",
    "needs_human",
)
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "canceled", "rejected"})
# What an assignee may report with ``POST /api/tasks/:id/status``.
REPORTED_STATUSES: tuple[str, ...] = (
    "working",
    "input_required",
    "completed",
    "failed",
    "rejected",
    "submitted",
)

TASK_ID_MAX_LENGTH = 36  # "tsk_" + 32 hex
CONTEXT_ID_MAX_LENGTH = 64
HINT_MAX_LENGTH = 200  # preferredAgentId, provider
HINT_MAX_ITEMS = 50  # requiredCapabilities, labels, tags
TITLE_MAX_LENGTH = 200
BODY_MAX_BYTES = 65_536
RESULT_MAX_BYTES = 65_536
MESSAGE_MAX_LENGTH = 4000
MAX_LINKED_TASKS = 20
MAX_ARTIFACTS = 20


def new_task_id() -> str:
    return "tsk_" + secrets.token_hex(16)


def once_task_id(key: str) -> str:
    """The id of the one task made under ``key`` (an automation's run for one event): the
    same key, the same id."""
    return "tsk_" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def new_context_id() -> str:
    return "ctx_" + secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class RoutingHints:
    required_capabilities: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    preferred_agent_id: str | None = None
    provider: str | None = None

    def to_json(self) -> JSON:
        hints: JSON = {
            "requiredCapabilities": list(self.required_capabilities),
            "labels": list(self.labels),
            "tags": list(self.tags),
        }
        if self.preferred_agent_id is not None:
            hints["preferredAgentId"] = self.preferred_agent_id
        if self.provider is not None:
            hints["provider"] = self.provider
        return hints

    @classmethod
    def from_json(cls, data: JSON) -> RoutingHints:
        return cls(
            required_capabilities=tuple(data.get("requiredCapabilities", ())),
            labels=tuple(data.get("labels", ())),
            tags=tuple(data.get("tags", ())),
            preferred_agent_id=data.get("preferredAgentId"),
            provider=data.get("provider"),
        )


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    title: str
    body: str
    context_id: str
    created_by: str
    status: TaskStatus
    attempt: int
    max_attempts: int
    version: int
    created_at: int
    updated_at: int
    reference_task_ids: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    routing_hints: RoutingHints = field(default_factory=RoutingHints)
    assignee: str | None = None
    status_message: str | None = None
    result: Any = None
    artifacts: tuple[JSON, ...] = ()
    lease_expires_at: int | None = None
    lease_ms: int = 0  # the length of the claimer's lease: status updates renew it by this
    # Whether ``created_by`` was an agent when the task was created (the sender rule's
    # kind, stored): None for tasks stored before it was recorded.
    created_by_agent: bool | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def to_json(self, ready: bool) -> JSON:
        task: JSON = {
            "id": self.id,
            "title": self.title,
            "body": self.body,
            "contextId": self.context_id,
            "referenceTaskIds": list(self.reference_task_ids),
            "dependsOn": list(self.depends_on),
            "ready": ready,
            "routingHints": self.routing_hints.to_json(),
            "createdBy": self.created_by,
            "assignee": self.assignee,
            "status": self.status,
            "statusMessage": self.status_message,
            "result": self.result,
            "artifacts": [dict(a) for a in self.artifacts],
            "attempt": self.attempt,
            "maxAttempts": self.max_attempts,
            "leaseExpiresAt": self.lease_expires_at,
            "version": self.version,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        return task


@dataclass(frozen=True, slots=True)
class Presence:
    """Which of the agents ``judged`` are ``online``: what eligibility's last clause
    (``preferredAgentId``) is decided on. An agent not judged is unknown, not offline."""

    judged: frozenset[str] = frozenset()
    online: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class TaskEdit:
    """``PATCH /api/tasks/:id``: None leaves a field as it is."""

    title: str | None = None
    body: str | None = None
    routing_hints: RoutingHints | None = None
    max_attempts: int | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """``POST /api/tasks/:id/status`` as the assignee sends it."""

    status: str
    message: str | None = None
    result: Any = None
    has_result: bool = False
    artifacts: tuple[JSON, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskFilter:
    status: str | None = None
    assignee: str | None = None
    context_id: str | None = None
    created_by: str | None = None
    ready: bool | None = None
    limit: int = 50
