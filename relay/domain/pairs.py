"""Pairs: a driver and a navigator working one objective, with their own conversation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

JSON = dict[str, Any]

PairStatus = Literal["forming", "active", "awaiting_review", "completed", "aborted"]
PairAction = Literal["join", "request-review", "request-changes", "approve", "abort", "message"]

PAIR_STATUSES: tuple[PairStatus, ...] = (
    "forming",
    "active",
    "awaiting_review",
    "completed",
    "aborted",
)
PAIR_ACTIONS: tuple[PairAction, ...] = (
    "join",
    "request-review",
    "request-changes",
    "approve",
    "abort",
    "message",
)
FINAL: frozenset[str] = frozenset({"completed", "aborted"})
OBJECTIVE_MAX = 2000


def new_pair_id() -> str:
    return f"pair_{uuid.uuid4().hex}"


def pair_conversation_id(pair_id: str) -> str:
    """The pair's one conversation: derived from its id, so it needs no lookup."""
    return "cnv_" + uuid.uuid5(uuid.NAMESPACE_URL, f"relay:pair:{pair_id}").hex


def in_pair_message(agent_id: str, pair_id: str) -> str:
    return f"agent {agent_id} is already in pair {pair_id}"


@dataclass(frozen=True, slots=True)
class Pair:
    id: str
    driver: str
    navigator: str
    task_id: str | None
    objective: str | None
    conversation_id: str
    status: PairStatus
    joined: tuple[str, ...]
    created_by: str
    version: int
    created_at: int
    updated_at: int
    # Whether ``created_by`` was an agent when the pair was created: None for pairs stored
    # before it was recorded (then decided at read time).
    created_by_agent: bool | None = None

    @property
    def parties(self) -> tuple[str, str]:
        return (self.driver, self.navigator)

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "driver": self.driver,
            "navigator": self.navigator,
            "taskId": self.task_id,
            "objective": self.objective,
            "conversationId": self.conversation_id,
            "status": self.status,
            "joined": list(self.joined),
            "createdBy": self.created_by,
            "version": self.version,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
