"""Pairs in and out of the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from tortoise.expressions import Q

from relay.domain.pairs import FINAL, Pair, PairStatus
from relay.store import models


def _pair(row: models.Pair) -> Pair:
    return Pair(
        id=row.id,
        driver=row.driver,
        navigator=row.navigator,
        task_id=row.task_id,
        objective=row.objective,
        conversation_id=row.conversation_id,
        status=cast(PairStatus, row.status),
        joined=tuple(row.joined or ()),
        created_by=row.created_by,
        created_by_agent=row.created_by_agent,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _columns(pair: Pair) -> dict[str, Any]:
    return {
        "driver": pair.driver,
        "navigator": pair.navigator,
        "task_id": pair.task_id,
        "objective": pair.objective,
        "conversation_id": pair.conversation_id,
        "status": pair.status,
        "joined": list(pair.joined),
        "created_by": pair.created_by,
        "created_by_agent": pair.created_by_agent,
        "version": pair.version,
        "created_at": pair.created_at,
        "updated_at": pair.updated_at,
    }


async def load(pair_id: str) -> Pair | None:
    row = await models.Pair.get_or_none(id=pair_id)
    return _pair(row) if row else None


async def insert(pair: Pair) -> None:
    await models.Pair.create(id=pair.id, **_columns(pair))


async def update(pair: Pair) -> None:
    await models.Pair.filter(id=pair.id).update(**_columns(pair))


async def open_pairs() -> list[Pair]:
    """Every pair not final: the parties index loads these."""
    rows = await models.Pair.exclude(status__in=list(FINAL)).order_by("created_at", "id")
    return [_pair(row) for row in rows]


@dataclass(frozen=True, slots=True)
class Visible:
    """The pairs a caller may read: a party or the (agent) creator among ``agents``, or
    created by ``created_by`` (a caller's ``sub``, as a creator that was no agent; for pairs
    stored before the creator's kind was, only if ``sub_is_agent`` is false)."""

    agents: tuple[str, ...]
    created_by: str | None
    sub_is_agent: bool = False


async def listed(
    agent_id: str | None, status: str | None, limit: int, visible: Visible | None = None
) -> list[Pair]:
    """Pairs newest first, of one agent (either party) and/or in one status; only the
    ``visible`` ones (None: all) before the limit is applied."""
    query = models.Pair.all()
    if visible is not None:
        agents = list(visible.agents)
        clauses = []
        if visible.created_by is not None:
            kinds = [Q(created_by_agent=False)]
            if not visible.sub_is_agent:
                kinds.append(Q(created_by_agent__isnull=True))
            clauses.append(Q(created_by=visible.created_by) & Q(*kinds, join_type="OR"))
        if agents:  # an empty IN is not valid SQL everywhere
            by_agent = Q(created_by_agent=True) | Q(created_by_agent__isnull=True)
            clauses += [
                Q(driver__in=agents),
                Q(navigator__in=agents),
                Q(created_by__in=agents) & by_agent,
            ]
        if not clauses:
            return []
        query = query.filter(Q(*clauses, join_type="OR"))
    if status is not None:
        query = query.filter(status=status)
    if agent_id is not None:
        query = query.filter(Q(driver=agent_id) | Q(navigator=agent_id))
    rows = await query.order_by("-created_at", "-id").limit(limit)
    return [_pair(row) for row in rows]
