"""Automations and their dispatch results in and out of the store."""

from __future__ import annotations

from typing import Any

from relay.domain.automations import CAP_WINDOW_MS, Automation, DispatchResult
from relay.store import models


def _automation(row: models.Automation) -> Automation:
    return Automation(
        id=row.id,
        name=row.name,
        enabled=row.enabled,
        trigger=dict(row.trigger or {}),
        action=dict(row.action or {}),
        max_per_hour=row.max_per_hour,
        version=row.version,
        next_run_at=row.next_run_at,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _dispatch(row: models.AutomationDispatch) -> DispatchResult:
    return DispatchResult(
        id=row.id,
        automation_id=row.automation_id,
        trigger=row.trigger,  # type: ignore[arg-type]  # written from DispatchTrigger only
        event_id=row.event_id,
        status=row.status,  # type: ignore[arg-type]  # written from DispatchStatus only
        result=row.result,
        error=row.error,
        at=row.at,
    )


def _fields(automation: Automation) -> dict[str, Any]:
    return {
        "name": automation.name,
        "enabled": automation.enabled,
        "trigger": dict(automation.trigger),
        "action": dict(automation.action),
        "max_per_hour": automation.max_per_hour,
        "version": automation.version,
        "next_run_at": automation.next_run_at,
        "created_by": automation.created_by,
        "created_at": automation.created_at,
        "updated_at": automation.updated_at,
    }


async def load_all() -> list[Automation]:
    rows = await models.Automation.all().order_by("name")
    return [_automation(row) for row in rows]


async def load(automation_id: str) -> Automation | None:
    row = await models.Automation.get_or_none(id=automation_id)
    return _automation(row) if row is not None else None


async def insert(automation: Automation) -> None:
    await models.Automation.create(id=automation.id, **_fields(automation))


async def save(automation: Automation) -> None:
    await models.Automation.filter(id=automation.id).update(**_fields(automation))


async def save_next_runs(runs: dict[str, int]) -> None:
    """The schedule's new ``nextRunAt`` of each automation it dispatched."""
    for automation_id, next_run_at in runs.items():
        await models.Automation.filter(id=automation_id).update(next_run_at=next_run_at)


async def delete(automation_id: str) -> None:
    await models.AutomationDispatch.filter(automation_id=automation_id).delete()
    await models.Automation.filter(id=automation_id).delete()


async def insert_dispatch(result: DispatchResult, seq: int, keep: int) -> None:
    """Store ``result`` (the ``seq``-th recorded) and drop the automation's dispatches
    past its newest ``keep``, but for runs its per-hour cap still counts (not skipped, of
    the last hour): the cap is counted again from these rows when the actor loads."""
    await models.AutomationDispatch.create(
        id=result.id,
        automation_id=result.automation_id,
        trigger=result.trigger,
        event_id=result.event_id,
        status=result.status,
        result=result.result,
        error=result.error,
        at=result.at,
        seq=seq,
    )
    counted_since = result.at - CAP_WINDOW_MS
    past_keep = (
        await models.AutomationDispatch.filter(automation_id=result.automation_id)
        .order_by("-seq")
        .offset(keep)
        .values_list("id", "status", "at")
    )
    stale = [
        row_id for row_id, status, at in past_keep if status == "skipped" or int(at) < counted_since
    ]
    if stale:
        await models.AutomationDispatch.filter(id__in=list(stale)).delete()


async def recent_dispatches(automation_id: str, limit: int) -> list[DispatchResult]:
    """Newest first."""
    rows = (
        await models.AutomationDispatch.filter(automation_id=automation_id)
        .order_by("-seq")
        .limit(limit)
    )
    return [_dispatch(row) for row in rows]


async def dispatches_of_event(event_id: str) -> list[DispatchResult]:
    """What an integration event dispatched, in the order it did."""
    rows = await models.AutomationDispatch.filter(event_id=event_id).order_by("seq")
    return [_dispatch(row) for row in rows]


async def run_times_since(since: int) -> dict[str, list[int]]:
    """Per automation, when it ran (skipped runs aside) at or after ``since``: what its
    per-hour cap counts."""
    rows = await models.AutomationDispatch.filter(at__gte=since, status__not="skipped").values_list(
        "automation_id", "at"
    )
    runs: dict[str, list[int]] = {}
    for automation_id, at in rows:
        runs.setdefault(str(automation_id), []).append(int(at))
    return runs


async def last_seq() -> int:
    row = await models.AutomationDispatch.all().order_by("-seq").first()
    return row.seq if row is not None else 0
