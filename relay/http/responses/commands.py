"""Commands, as queued, delivered and settled, and the replies that carry one."""

from __future__ import annotations

from typing import Any

from relay.domain.commands import CommandStatus, TargetKind
from relay.http.responses.base import JSONObject, Shape

__all__ = ["Command", "CommandReply", "SpawnReply"]


class Command(Shape):
    id: str
    type: str
    source: str | None
    target: str
    target_kind: TargetKind
    correlation_id: str | None
    params: JSONObject
    status: CommandStatus
    result: Any
    error: str | None
    attempts: int
    created_at: int
    updated_at: int
    delivered_at: int | None
    settled_at: int | None
    expires_at: int | None


class CommandReply(Shape):
    command: Command


class SpawnReply(CommandReply):
    spawn_request_id: str
