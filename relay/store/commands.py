"""Command rows in and out of the store, as plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from tortoise.expressions import Q

from relay.domain.commands import OPEN, SETTLED, Command, CommandStatus, TargetKind
from relay.store import models
from relay.store.keyset import Cursor, older_than
from relay.store.statements import InsertRow, UpdateByKey


def _command(row: models.Command) -> Command:
    return Command(
        id=row.id,
        type=row.type,
        source=row.source,
        target=row.target,
        target_kind=cast(TargetKind, row.target_kind),
        correlation_id=row.correlation_id,
        params=dict(row.params or {}),
        status=cast(CommandStatus, row.status),
        result=row.result,
        error=row.error,
        attempts=row.attempts,
        created_at=row.created_at,
        updated_at=row.updated_at,
        delivered_at=row.delivered_at,
        ack_deadline=row.ack_deadline,
        settled_at=row.settled_at,
        expires_at=row.expires_at,
        effects_applied=row.effects_applied,
    )


def _columns(command: Command) -> dict[str, Any]:
    return {
        "type": command.type,
        "source": command.source,
        "target": command.target,
        "target_kind": command.target_kind,
        "correlation_id": command.correlation_id,
        "params": command.params,
        "status": command.status,
        "result": command.result,
        "error": command.error,
        "attempts": command.attempts,
        "created_at": command.created_at,
        "updated_at": command.updated_at,
        "delivered_at": command.delivered_at,
        "ack_deadline": command.ack_deadline,
        "settled_at": command.settled_at,
        "expires_at": command.expires_at,
        "effects_applied": command.effects_applied,
        "agent_id": command.params_agent_id,
    }


# What a status change may touch. ``effects_applied`` is only ever set, never cleared: a
# save writes it only when it is set, so it cannot undo a mark made since.
_PROGRESS_COLUMNS = (
    "status",
    "result",
    "error",
    "attempts",
    "updated_at",
    "delivered_at",
    "ack_deadline",
    "settled_at",
)
_PROGRESS = UpdateByKey(models.Command, _PROGRESS_COLUMNS)
_PROGRESS_AND_EFFECTS = UpdateByKey(models.Command, (*_PROGRESS_COLUMNS, "effects_applied"))
_EFFECTS_APPLIED = UpdateByKey(models.Command, ("effects_applied",))
_INSERT = InsertRow(models.Command)


async def insert(command: Command) -> None:
    await _INSERT.run({"id": command.id, **_columns(command)})


async def save(command: Command) -> None:
    """Write a command's progress (status, attempts, timestamps, outcome)."""
    statement = _PROGRESS_AND_EFFECTS if command.effects_applied else _PROGRESS
    await statement.run(command.id, _columns(command))


async def save_many(commands: list[Command]) -> None:
    for command in commands:
        await save(command)


async def load(command_id: str) -> Command | None:
    row = await models.Command.get_or_none(id=command_id)
    return _command(row) if row else None


async def open_for(target: str) -> list[Command]:
    rows = await models.Command.filter(target=target, status__in=tuple(OPEN)).order_by(
        "created_at", "id"
    )
    return [_command(row) for row in rows]


@dataclass(frozen=True, slots=True)
class Targets:
    """The targets a list may name, per kind: ``None`` leaves that kind unnarrowed, an
    empty list leaves it out. ``about``: an orchestrator's commands only if about one of
    these agents (``params.agentId``); ``None`` leaves them unnarrowed."""

    agents: list[str] | None = None
    orchestrators: list[str] | None = None
    about: list[str] | None = None


async def search(
    *,
    target: str | None = None,
    status: str | None = None,
    type_: str | None = None,
    correlation_id: str | None = None,
    agent_id: str | None = None,
    targets: Targets | None = None,
    before: Cursor | None = None,
    limit: int = 100,
) -> list[Command]:
    """Newest first. ``agent_id``: commands addressed to that agent or about it
    (``params.agentId``). ``before``: the page after the command of this
    ``(created_at, id)``, in the same order."""
    query = models.Command.all()
    if targets is not None:
        kinds = [
            Q(target_kind=kind) if allowed is None else Q(target_kind=kind, target__in=allowed)
            for kind, allowed in (
                ("agent", targets.agents),
                ("orchestrator", targets.orchestrators),
            )
            if allowed is None or allowed  # an empty IN is not valid SQL everywhere
        ]
        if targets.about is not None:
            about = Q(target_kind="agent") | Q(agent_id__in=targets.about or [""])
            kinds = [Q(kind, about) for kind in kinds]
        if not kinds:
            return []
        query = query.filter(Q(*kinds, join_type="OR"))
    if agent_id:
        query = query.filter(Q(target=agent_id) | Q(agent_id=agent_id))
    if target:
        query = query.filter(target=target)
    if status:
        query = query.filter(status=status)
    if type_:
        query = query.filter(type=type_)
    if correlation_id:
        query = query.filter(correlation_id=correlation_id)
    if before is not None:
        query = query.filter(older_than(before))
    rows = await query.order_by("-created_at", "-id").limit(limit)
    return [_command(row) for row in rows]


async def targets_needing_attention(now: int) -> list[tuple[str, str]]:
    """(target_kind, target) of queues with an expired or unacknowledged command."""
    expired = models.Command.filter(status__in=("queued", "delivered"), expires_at__lte=now)
    unacked = models.Command.filter(status="delivered", ack_deadline__lte=now)
    pairs: set[tuple[str, str]] = set()
    for query in (expired, unacked):
        for kind, target in await query.values_list("target_kind", "target"):
            pairs.add((str(kind), str(target)))
    return sorted(pairs)


async def settled_without_effects(settled_before: int, limit: int = 200) -> list[Command]:
    """Settled commands whose effects never ran (the relay stopped in between)."""
    rows = await models.Command.filter(
        status__in=tuple(SETTLED), effects_applied=False, settled_at__lte=settled_before
    ).limit(limit)
    return [_command(row) for row in rows]


async def mark_effects_applied(command_id: str) -> None:
    await _EFFECTS_APPLIED.run(command_id, {"effects_applied": True})


async def open_about(agent_id: str, type_: str) -> list[Command]:
    """Open commands of ``type_`` about ``agent_id`` (``params.agentId``), oldest first."""
    rows = await models.Command.filter(
        agent_id=agent_id, type=type_, status__in=tuple(OPEN)
    ).order_by("created_at", "id")
    return [_command(row) for row in rows]
