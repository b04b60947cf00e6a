"""Integration use cases: receive an event (deduplicated by its delivery id), list the
integrations and their events, and the retention job.

Integrations are the static tokens of ``RELAY_INTEGRATION_TOKENS``; their per-minute
budget is spent by the authenticator on every request (a 429 before any route runs).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from relay.actors import automations
from relay.actors.integrations import rules
from relay.actors.runtime.audit import Change, write_audited
from relay.actors.runtime.context import Runtime
from relay.auth.access import Principal
from relay.domain.integrations import IntegrationEvent, new_event_id
from relay.errors import Forbidden, NotFound, Unavailable
from relay.settings import IntegrationToken
from relay.store import integrations as integration_store

log = logging.getLogger("relay.integrations")

VIEW = "integrations"


@dataclass(frozen=True, slots=True)
class EventInput:
    type: str
    subject: str | None = None
    payload: dict[str, Any] | None = None
    occurred_at: int | None = None


@dataclass(frozen=True, slots=True)
class Received:
    event: IntegrationEvent
    created: bool
    dispatches: list[dict[str, Any]]


def integration(rt: Runtime, name: str) -> IntegrationToken:
    """The configured integration ``name``; NotFound ``integration not found``."""
    for each in rt.settings.integration_tokens:
        if each.name == name:
            return each
    raise NotFound("integration not found")


def allow_posting(rt: Runtime, caller: Principal, name: str) -> IntegrationToken:
    """Root, or the integration token named ``name`` itself: 403 otherwise, before anyone
    learns which names exist; then 404 for an unknown name."""
    if not caller.is_root and caller.integration != name:
        raise Forbidden("forbidden")
    return integration(rt, name)


async def dispatch_event(
    rt: Runtime, event: IntegrationEvent, automation_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """Run these automations for the event; their ``AutomationDispatchResult``s."""
    return await automations.dispatch_event(rt, event, automation_ids)


async def receive(
    rt: Runtime, caller: Principal, name: str, delivery_id: str | None, data: EventInput
) -> Received:
    """Store the event once per ``(name, deliveryId)`` and dispatch it; a repeat returns
    the stored event with ``created`` false and dispatches nothing.

    Raises Invalid (the header, the body), Forbidden, NotFound ``integration not found``.
    """
    allow_posting(rt, caller, name)
    delivery = rules.check_delivery_id(delivery_id)
    rules.check_event(data.type, data.subject, data.payload)
    draft = IntegrationEvent(
        id=new_event_id(),
        integration=name,
        delivery_id=delivery,
        type=data.type,
        subject=data.subject,
        payload=dict(data.payload or {}),
        occurred_at=data.occurred_at,
        received_at=rt.clock.now_ms(),
    )
    # What it triggers on arrival is kept with it: a repeat runs what of that an outage cut
    # off, and no automation saved since.
    draft = replace(draft, pending=await automations.triggered_by_event(rt, draft))

    def changes_of(result: tuple[IntegrationEvent, bool]) -> list[Change]:
        stored, created = result
        if not created:
            return []
        event = stored.to_json(with_payload=False)
        return [Change("integration", {"change": "received", "event": event}, view=VIEW)]

    event, created = await write_audited(
        rt, lambda: integration_store.receive(draft), lambda _r: (), changes_of=changes_of
    )
    if created:  # what it triggers was read just before it was stored
        dispatches = await dispatch_event(rt, event, event.pending or ())
    else:  # a replay answers with what the first delivery did
        dispatches = await automations.dispatches_of_event(rt, event.id)
        todo = rules.left_to_run(event.pending, dispatches)
        if todo is None:  # stored before ``pending`` was kept: what it triggers now
            todo = list(await automations.triggered_by_event(rt, event))
        elif todo:  # but none disabled or deleted since it arrived
            todo = await automations.enabled_among(rt, todo)
        if todo:
            dispatches = [*dispatches, *await dispatch_event(rt, event, todo)]
    if event.pending:
        await _settle(rt, event, dispatches)
    return Received(event, created, dispatches)


async def _settle(rt: Runtime, event: IntegrationEvent, dispatches: list[dict[str, Any]]) -> None:
    """Strike the automations whose results are kept off the event's pending list. Their
    results are committed: a store that fails here leaves a repeat to find them kept."""
    done = [str(d.get("automationId")) for d in dispatches]
    try:
        await rt.store.write(lambda: integration_store.settle(event.id, done))
    except Unavailable as error:
        log.warning("integration_settle_failed event=%s: %s", event.id, error)


async def summaries(rt: Runtime) -> list[dict[str, Any]]:
    """``IntegrationSummary[]``: each configured integration, never its token."""
    since = rt.clock.now_ms() - rules.DAY_MS
    seen = await rt.store.run(lambda: integration_store.summaries(since))
    return [
        {
            "name": each.name,
            "scopes": list(each.scopes),
            "perMinute": each.per_minute,
            "lastEventAt": seen.get(each.name, (None, 0))[0],
            "events24h": seen.get(each.name, (None, 0))[1],
        }
        for each in rt.settings.integration_tokens
    ]


async def recent_events(rt: Runtime, name: str, limit: int) -> list[IntegrationEvent]:
    """The integration's newest events; NotFound ``integration not found``."""
    integration(rt, name)
    return await rt.store.run(lambda: integration_store.recent(name, limit))


async def integration_retention(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: delete events past ``RELAY_INTEGRATION_EVENT_RETENTION_DAYS`` (the
    dedupe window: a delivery id repeated after it is taken as new)."""
    before = rules.retention_cutoff(rt.clock.now_ms(), rt.settings.integration_event_retention_days)
    deleted = await rt.store.write(lambda: integration_store.delete_received_before(before))
    return {"deleted": deleted, "before": before}
