"""Commands as values: what the relay asks an orchestrator or an agent to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]

CommandStatus = Literal[
    "queued", "delivered", "running", "succeeded", "failed", "cancelled", "expired"
]
TargetKind = Literal["orchestrator", "agent"]

STATUSES: tuple[CommandStatus, ...] = (
    "queued",
    "delivered",
    "running",
    "succeeded",
    "failed",
    "cancelled",
    "expired",
)
OPEN: frozenset[str] = frozenset({"queued", "delivered", "running"})
SETTLED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled", "expired"})

# Commands that must wait for an offline owner however long it takes.
NO_TTL_TYPES: frozenset[str] = frozenset({"workspace.cleanup"})
DEFAULT_TTL_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    type: str
    source: str | None
    target: str
    target_kind: TargetKind
    correlation_id: str | None
    params: JSON
    status: CommandStatus
    result: Any
    error: str | None
    attempts: int
    created_at: int
    updated_at: int
    delivered_at: int | None = None
    ack_deadline: int | None = None
    settled_at: int | None = None
    expires_at: int | None = None
    effects_applied: bool = False

    @property
    def settled(self) -> bool:
        return self.status in SETTLED

    @property
    def params_agent_id(self) -> str | None:
        """``params.agentId``: the agent a command sent to an orchestrator is about."""
        value = self.params.get("agentId")
        return value if isinstance(value, str) and value else None

    def to_json(self, *, redact: bool = True) -> JSON:
        """The wire shape; secrets in params (runner tokens) are redacted unless this goes
        to the command's own target over its channel."""
        return {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "target": self.target,
            "targetKind": self.target_kind,
            "correlationId": self.correlation_id,
            "params": redact_params(self.params) if redact else self.params,
            "status": self.status,
            "result": self.result,
            "error": self.error,
            "attempts": self.attempts,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "deliveredAt": self.delivered_at,
            "settledAt": self.settled_at,
            "expiresAt": self.expires_at,
        }


SECRET_PARAMS = frozenset({"runnerToken"})
REDACTED = "[redacted]"


def redact_params(params: JSON) -> JSON:
    """``params`` with every secret value (at any depth) replaced by ``[redacted]``."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: REDACTED if k in SECRET_PARAMS else clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    result: JSON = clean(params)
    return result


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command to create; the queue's actor fills in id, status and times."""

    type: str
    target: str
    target_kind: TargetKind
    params: JSON = field(default_factory=dict)
    source: str | None = None
    correlation_id: str | None = None
    ttl_seconds: int | None = DEFAULT_TTL_SECONDS
    # Set when the caller must know the id before the command exists (a merge binds its
    # lease to the command before any orchestrator can see it).
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Settlement:
    """The outcome of a status update: the command, and whether this update settled it."""

    command: Command
    settled_now: bool
