"""Command rows in and out of the store, as plain dataclasses."""

from __future__ import annotations

from typing import Any, cast

from relay.domain.commands import OPEN, SETTLED, Command, CommandStatus, TargetKind
from relay.store import models


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
    }


async def insert(command: Command) -> None:
    await models.Command.create(id=command.id, **_columns(command))


async def save(command: Command) -> None:
    await models.Command.filter(id=command.id).update(**_columns(command))


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


async def search(
    *,
    target: str | None = None,
    status: str | None = None,
    type_: str | None = None,
    correlation_id: str | None = None,
    limit: int = 100,
) -> list[Command]:
    """Newest first."""
    query = models.Command.all()
    if target:
        query = query.filter(target=target)
    if status:
        query = query.filter(status=status)
    if type_:
        query = query.filter(type=type_)
    if correlation_id:
        query = query.filter(correlation_id=correlation_id)
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
    await models.Command.filter(id=command_id).update(effects_applied=True)


async def count_by_status() -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in await models.Command.all().values_list("status", flat=True):
        counts[str(status)] = counts.get(str(status), 0) + 1
    return counts
