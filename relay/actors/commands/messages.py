"""The messages CommandQueue understands; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.actors.runtime.bridge import Ask
from relay.domain.commands import Command, CommandSpec, CommandStatus, Settlement


@dataclass(frozen=True, slots=True)
class Delivery:
    commands: list[Command]
    next_wake_at: int | None
    expired: list[Command]


@dataclass(frozen=True, slots=True)
class Enqueue(Ask[Command]):
    """Queue a new command for this target. Replies the command once stored."""

    spec: CommandSpec


@dataclass(frozen=True, slots=True)
class Poll(Ask[Delivery]):
    """Hand out deliverable commands (marking them delivered). Replies a ``Delivery``."""

    limit: int = 50


@dataclass(frozen=True, slots=True)
class UpdateStatus(Ask[Settlement]):
    """The target reports progress or an outcome. Replies a ``Settlement``."""

    command_id: str
    status: CommandStatus
    result: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ExpireDue(Ask[list[Command]]):
    """Expire commands past their TTL. Replies the list of commands expired now."""


QUEUE_MESSAGES = (Enqueue, Poll, UpdateStatus, ExpireDue)
