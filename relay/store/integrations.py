"""Integration events in and out of the store."""

from __future__ import annotations

from collections.abc import Iterable

from tortoise.functions import Count, Max

from relay.domain.integrations import IntegrationEvent
from relay.store import models


def _event(row: models.IntegrationEvent) -> IntegrationEvent:
    return IntegrationEvent(
        id=row.id,
        integration=row.integration,
        delivery_id=row.delivery_id,
        type=row.type,
        subject=row.subject,
        payload=dict(row.payload or {}),
        occurred_at=row.occurred_at,
        received_at=row.received_at,
        pending=None if row.pending is None else tuple(str(a) for a in row.pending),
    )


async def receive(event: IntegrationEvent) -> tuple[IntegrationEvent, bool]:
    """Store ``event`` unless its ``(integration, deliveryId)`` is stored already; returns
    the stored event and whether it is new.

    Writes run one at a time on the store's ordered writer, so the look-up and the insert
    cannot interleave with another delivery's; the unique key is the backstop.
    """
    found = await models.IntegrationEvent.get_or_none(
        integration=event.integration, delivery_id=event.delivery_id
    )
    if found is not None:
        return _event(found), False
    await models.IntegrationEvent.create(
        id=event.id,
        integration=event.integration,
        delivery_id=event.delivery_id,
        type=event.type,
        subject=event.subject,
        payload=dict(event.payload),
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        pending=None if event.pending is None else list(event.pending),
    )
    return event, True


async def settle(event_id: str, automation_ids: Iterable[str]) -> None:
    """These automations' results for the event are kept: no repeat runs them again."""
    done = set(automation_ids)
    row = await models.IntegrationEvent.get_or_none(id=event_id)
    if row is None or not row.pending or not done & set(row.pending):
        return
    left = [a for a in row.pending if a not in done]
    await models.IntegrationEvent.filter(id=event_id).update(pending=left)


async def recent(integration: str, limit: int) -> list[IntegrationEvent]:
    rows = (
        await models.IntegrationEvent.filter(integration=integration)
        .order_by("-received_at", "-id")
        .limit(limit)
    )
    return [_event(row) for row in rows]


async def summaries(since: int) -> dict[str, tuple[int | None, int]]:
    """Per integration: its last event's ``receivedAt`` and how many arrived since ``since``."""
    last = await (
        models.IntegrationEvent.annotate(last=Max("received_at"))
        .group_by("integration")
        .values_list("integration", "last")
    )
    counts = await (
        models.IntegrationEvent.filter(received_at__gte=since)
        .annotate(n=Count("id"))
        .group_by("integration")
        .values_list("integration", "n")
    )
    per_name: dict[str, tuple[int | None, int]] = {
        str(name): (int(at) if at is not None else None, 0) for name, at in last
    }
    for name, n in counts:
        at, _ = per_name.get(str(name), (None, 0))
        per_name[str(name)] = (at, int(n))
    return per_name


async def delete_received_before(before: int) -> int:
    """Delete events received before ``before`` (ms); returns how many."""
    return await models.IntegrationEvent.filter(received_at__lt=before).delete()
