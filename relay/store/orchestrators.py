"""Orchestrator rows in and out of the store."""

from __future__ import annotations

from typing import Any, cast

from relay.domain.agents import Presence
from relay.domain.orchestrators import ManagedAgent, Orchestrator
from relay.store import models
from relay.store.statements import UpdateByKey


def _managed(items: list[dict[str, Any]]) -> tuple[ManagedAgent, ...]:
    return tuple(
        ManagedAgent(
            agent_id=str(item.get("agentId")),
            session_name=item.get("sessionName"),
            provider=item.get("provider"),
            status=item.get("status"),
        )
        for item in items or []
    )


def _orchestrator(row: models.Orchestrator) -> Orchestrator:
    return Orchestrator(
        id=row.id,
        agent_id=row.agent_id,
        name=row.name,
        host=row.host,
        base_dir=row.base_dir,
        status=cast(Presence, row.status),
        capabilities=dict(row.capabilities or {}),
        runtime=dict(row.runtime or {}),
        managed_agents=_managed(row.managed_agents),
        registered_at=row.registered_at,
        last_heartbeat_at=row.last_heartbeat_at,
    )


def _columns(orch: Orchestrator) -> dict[str, Any]:
    return {
        "agent_id": orch.agent_id,
        "name": orch.name,
        "host": orch.host,
        "base_dir": orch.base_dir,
        "status": orch.status,
        "capabilities": orch.capabilities,
        "runtime": orch.runtime,
        "managed_agents": [managed.to_json() for managed in orch.managed_agents],
        "registered_at": orch.registered_at,
        "last_heartbeat_at": orch.last_heartbeat_at,
    }


async def load(orchestrator_id: str) -> Orchestrator | None:
    row = await models.Orchestrator.get_or_none(id=orchestrator_id)
    return _orchestrator(row) if row else None


async def insert(orch: Orchestrator) -> None:
    await models.Orchestrator.create(id=orch.id, **_columns(orch))


async def update(orch: Orchestrator) -> None:
    await models.Orchestrator.filter(id=orch.id).update(**_columns(orch))


_TOUCH = UpdateByKey(models.Orchestrator, ("status", "last_heartbeat_at"))


async def touch(orchestrator_id: str, status: str, at: int) -> None:
    """The heartbeat's write: two columns, no read."""
    await _TOUCH.run(orchestrator_id, {"status": status, "last_heartbeat_at": at})


async def list_all(*, status: str | None = None) -> list[Orchestrator]:
    query = models.Orchestrator.all().order_by("id")
    if status:
        query = query.filter(status=status)
    return [_orchestrator(row) for row in await query]


async def base_dirs_of(orchestrator_ids: tuple[str, ...] | None = None) -> dict[str, str]:
    """The stored ``baseDir`` of each of these orchestrators (unknown ones are left out),
    or of every orchestrator."""
    query = models.Orchestrator.all()
    if orchestrator_ids is not None:
        query = query.filter(id__in=list(orchestrator_ids))
    rows = await query.values_list("id", "base_dir")
    return {str(orchestrator_id): str(base_dir) for orchestrator_id, base_dir in rows}


async def resolve_target(target: str) -> str | None:
    """The orchestrator a command target names: its id, or its agent id."""
    row = await models.Orchestrator.get_or_none(id=target)
    if row is None:
        row = await models.Orchestrator.filter(agent_id=target).first()
    return row.id if row else None


async def claiming_agent_id(agent_id: str) -> list[str]:
    """The orchestrators registered with ``agent_id`` as their own agent id."""
    ids = await models.Orchestrator.filter(agent_id=agent_id).values_list("id", flat=True)
    return sorted(str(orchestrator_id) for orchestrator_id in ids)


async def due_for_reaping(stale_before_ms: int, offline_before_ms: int) -> list[str]:
    online = models.Orchestrator.filter(status="online", last_heartbeat_at__lte=stale_before_ms)
    stale = models.Orchestrator.filter(status="stale", last_heartbeat_at__lte=offline_before_ms)
    ids = await online.values_list("id", flat=True)
    ids += await stale.values_list("id", flat=True)
    return [str(orchestrator_id) for orchestrator_id in ids]
