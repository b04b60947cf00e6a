"""Command rules as pure functions: status transitions, delivery, redelivery, expiry."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Literal

from relay.domain.commands import (
    NO_TTL_TYPES,
    OPEN,
    SETTLED,
    Command,
    CommandSpec,
    CommandStatus,
)
from relay.errors import Conflict

# Which status a target may report from which: delivery is the relay's job, so a client
# only ever moves a command to running or settles it (a redelivered command may be
# reported running twice: harmless, and idempotent).
_ALLOWED: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "succeeded", "failed", "cancelled"}),
    "delivered": frozenset({"running", "succeeded", "failed", "cancelled"}),
    "running": frozenset({"running", "succeeded", "failed", "cancelled"}),
}

Verdict = Literal["apply", "repeat"]


def new_command_id() -> str:
    return f"cmd_{uuid.uuid4()}"


def new_command(spec: CommandSpec, now: int) -> Command:
    ttl = None if spec.type in NO_TTL_TYPES else spec.ttl_seconds
    return Command(
        id=spec.id or new_command_id(),
        type=spec.type,
        source=spec.source,
        target=spec.target,
        target_kind=spec.target_kind,
        correlation_id=spec.correlation_id,
        params=spec.params,
        status="queued",
        result=None,
        error=None,
        attempts=0,
        created_at=now,
        updated_at=now,
        expires_at=now + ttl * 1000 if ttl is not None else None,
    )


def check_transition(current: CommandStatus, requested: CommandStatus) -> Verdict:
    """``apply`` the change, or ``repeat`` (the same settle reported again: no effect).

    Raises:
        Conflict: ``command already settled`` for any other change to a settled
            command, ``cannot move a command from X to Y`` for other illegal moves.
    """
    if current in SETTLED:
        if requested == current:
            return "repeat"
        raise Conflict("command already settled")
    if requested not in _ALLOWED.get(current, frozenset()):
        raise Conflict(f"cannot move a command from {current} to {requested}")
    return "apply"


def apply_status(
    command: Command,
    status: CommandStatus,
    now: int,
    *,
    result: Any = None,
    error: str | None = None,
) -> Command:
    settled = status in SETTLED
    return replace(
        command,
        status=status,
        result=result if result is not None else command.result,
        error=error if error is not None else command.error,
        updated_at=now,
        settled_at=now if settled else command.settled_at,
        ack_deadline=None if status != "delivered" else command.ack_deadline,
    )


def deliverable(command: Command, now: int) -> bool:
    """Queued, or delivered and not acknowledged within its ack deadline (redelivery)."""
    if is_expired(command, now):
        return False
    if command.status == "queued":
        return True
    return (
        command.status == "delivered"
        and command.ack_deadline is not None
        and command.ack_deadline <= now
    )


def deliver(command: Command, now: int, ack_timeout_ms: int) -> Command:
    return replace(
        command,
        status="delivered",
        attempts=command.attempts + 1,
        delivered_at=now,
        ack_deadline=now + ack_timeout_ms,
        updated_at=now,
    )


def is_expired(command: Command, now: int) -> bool:
    """Past its TTL while nobody has started it (a running command is left to finish)."""
    return (
        command.status in ("queued", "delivered")
        and command.expires_at is not None
        and command.expires_at <= now
    )


def next_wake(commands: list[Command]) -> int | None:
    """The earliest time something in this queue changes by itself (redelivery or expiry)."""
    times = [c.ack_deadline for c in commands if c.status == "delivered" and c.ack_deadline]
    times += [
        c.expires_at for c in commands if c.status in ("queued", "delivered") and c.expires_at
    ]
    return min(times) if times else None


def open_about(commands: Iterable[Command], type_: str, agent_id: str, now: int) -> Command | None:
    """The first command of ``type_`` about ``agent_id`` (``params.agentId``) that is still
    open. One past its TTL counts as settled: the expiry job settles it without a word
    from the target, so nothing is waiting on it any more."""
    for command in commands:
        if (
            command.type == type_
            and command.params_agent_id == agent_id
            and command.status in OPEN
            and not is_expired(command, now)
        ):
            return command
    return None


# Long-polls whose wait ends together are spread over this share of their wait, at most
# POLL_SPREAD_MAX_SECONDS, after it (never before: a long-poll waits at least ``wait``).
POLL_SPREAD_SHARE = 0.05
POLL_SPREAD_MAX_SECONDS = 0.5


def poll_spread(wait_seconds: float, draw: float) -> float:
    """How long past its ``wait`` a long-poll answers, for a ``draw`` in [0, 1)."""
    return draw * min(wait_seconds * POLL_SPREAD_SHARE, POLL_SPREAD_MAX_SECONDS)
