"""The messages CommandQueue understands; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.actors.runtime.bridge import Ask
from relay.domain.activity import ActivityInput
from relay.domain.commands import Command, CommandSpec, CommandStatus, Settlement


@dataclass(frozen=True, slots=True)
class Handout:
    commands: list[Command]
    next_wake_at: int | None
    expired: list[Command]


@dataclass(frozen=True, slots=True)
class Enqueue(Ask[Command]):
    """Queue a new command for this target. Replies the command once stored.

    ``audits`` are stored in the same commit as the command (what asked for it).
    """

    spec: CommandSpec
    audits: tuple[ActivityInput, ...] = ()


@dataclass(frozen=True, slots=True)
class Poll(Ask[Handout]):
    """Hand out deliverable commands (marking them delivered). Replies a ``Handout``."""

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
