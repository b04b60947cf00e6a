"""Automation use cases as HTTP, the integration route and the schedule job call them:
save, change, delete and read automations; dispatch one (event, schedule, manual) and
keep its result."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from relay.actors.automations import actions, rules
from relay.actors.automations.messages import (
    KEY,
    KIND,
    Begin,
    Create,
    Delete,
    Record,
    Snapshot,
    TakeDue,
    Unbegin,
    Untake,
    Update,
)
from relay.actors.runtime.context import Runtime
from relay.domain.automations import (
    JSON,
    RATE_LIMITED,
    Automation,
    AutomationChanges,
    DispatchResult,
    DispatchStatus,
    DispatchTrigger,
    new_automation_id,
    new_dispatch_id,
)
from relay.domain.integrations import IntegrationEvent
from relay.errors import Conflict, NotFound, RelayError, Unavailable
from relay.store import automations as automation_store

log = logging.getLogger("relay.actors.automations")


async def create(
    rt: Runtime,
    actor: str,
    *,
    name: str,
    enabled: bool,
    trigger: JSON,
    action: JSON,
    max_per_hour: int,
) -> Automation:
    """Save a new automation; Conflict ``automation name already exists``."""
    draft = Automation(
        id=new_automation_id(),
        name=name,
        enabled=enabled,
        trigger=trigger,
        action=action,
        max_per_hour=max_per_hour,
        version=1,
        next_run_at=None,
        created_by=actor,
        created_at=0,  # set by the actor, with nextRunAt
        updated_at=0,
    )
    return await rt.registry.ask(KIND, KEY, Create(draft, actor))


async def update(
    rt: Runtime, actor: str, automation_id: str, changes: AutomationChanges, version: int | None
) -> Automation:
    """Change it; NotFound, Conflict (version, name)."""
    return await rt.registry.ask(KIND, KEY, Update(automation_id, changes, version, actor))


async def delete(
    rt: Runtime, actor: str, automation_id: str, version: int | None = None
) -> Automation:
    """Delete it; NotFound, Conflict (``version`` given and no longer the current)."""
    return await rt.registry.ask(KIND, KEY, Delete(automation_id, actor, version))


async def list_all(rt: Runtime) -> list[Automation]:
    """Every automation, by name."""
    return list(await rt.registry.ask(KIND, KEY, Snapshot()))


async def get(rt: Runtime, automation_id: str) -> Automation:
    """NotFound ``automation not found``."""
    found = await rt.store.run(lambda: automation_store.load(automation_id))
    if found is None:
        raise NotFound("automation not found")
    return found


async def dispatches(rt: Runtime, automation_id: str, limit: int) -> list[DispatchResult]:
    """Its kept dispatch results, newest first; NotFound ``automation not found``."""
    await get(rt, automation_id)
    # The store may hold more (runs the per-hour cap still counts); a reader sees the kept.
    shown = min(limit, rt.settings.automation_dispatch_keep)
    return await rt.store.run(lambda: automation_store.recent_dispatches(automation_id, shown))


async def dispatch(
    rt: Runtime,
    automation_id: str,
    trigger: DispatchTrigger,
    event: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    version: int | None = None,
    due_at: int | None = None,
) -> DispatchResult:
    """Run the automation once (its cap permitting) and keep the result, which is returned
    once committed. The action's refusal is the result's ``error``, never raised.

    ``version``: the one the caller was authorized against; Conflict if it changed since.
    ``due_at``: a schedule's period; run again for it, the action is the same run.

    Raises NotFound ``automation not found`` (or, for an event or a schedule, ``Disabled``:
    disabled since it was picked); Unavailable when the result cannot be kept.
    """
    started = await rt.registry.ask(KIND, KEY, Begin(automation_id, trigger, event_id, version))
    if started.repeated:
        raise Conflict("automation already dispatched for this event")
    automation = started.automation
    now = rt.clock.now_ms()
    status: DispatchStatus = "skipped"
    result: JSON | None = None
    error: str | None = RATE_LIMITED
    if started.allowed:
        # An event's run renders ``now`` as the event's arrival: a repeat of the delivery
        # that runs it again (its result was not kept) renders the same text.
        arrived = (event or {}).get("receivedAt") if trigger == "event" else None
        rendered_now = arrived if isinstance(arrived, int) else now
        context = {
            "event": dict(event or {}),
            "automation": automation.to_json(),
            "now": rendered_now,
        }
        # Once per event: a run whose result could not be kept is run again by a replay of
        # the event, and its message must then be the same message, not a second one.
        once = f"{automation.id}:{event_id}" if event_id is not None else None
        if due_at is not None:  # a schedule's period put back (Untake) runs as this run
            once = f"{automation.id}:at:{due_at}"
        try:
            rendered = rules.render(automation.action, context)
            result = await actions.run(rt, automation, rendered, once=once)
            status, error = "succeeded", None
        except RelayError as refused:
            status, error = "failed", refused.message
            log.info(
                "automation_dispatch_failed automation=%s error=%s", automation.id, refused.message
            )
    done = DispatchResult(
        id=new_dispatch_id(),
        automation_id=automation.id,
        trigger=trigger,
        event_id=event_id,
        status=status,
        result=result,
        error=error,
        at=now,
    )
    try:
        return await rt.registry.ask(KIND, KEY, Record(done))
    except Unavailable:
        if event_id is not None:  # not kept: a replay of the event may run it again
            await rt.registry.ask(KIND, KEY, Unbegin(automation.id, event_id))
        raise


async def triggered_by_event(rt: Runtime, event: IntegrationEvent) -> tuple[str, ...]:
    """The enabled automations ``event`` triggers now, by name (the order they run in)."""
    found = rules.triggered(await rt.registry.ask(KIND, KEY, Snapshot()), event.to_json())
    return tuple(automation.id for automation in found)


async def enabled_among(rt: Runtime, automation_ids: Sequence[str]) -> list[str]:
    """Those of ``automation_ids`` still enabled (neither disabled nor deleted), in order."""
    enabled = {a.id for a in await rt.registry.ask(KIND, KEY, Snapshot()) if a.enabled}
    return [automation_id for automation_id in automation_ids if automation_id in enabled]


async def dispatch_event(
    rt: Runtime, event: IntegrationEvent, automation_ids: Sequence[str]
) -> list[JSON]:
    """Dispatch each of ``automation_ids`` once for the event, in order (one deleted since
    is passed over); their results."""
    results: list[JSON] = []
    for automation_id in automation_ids:
        try:
            done = await dispatch(rt, automation_id, "event", event.to_json(), event.id)
        except NotFound:
            continue  # deleted or disabled since the snapshot
        except Conflict:
            continue  # already begun for this event (a concurrent or earlier delivery)
        results.append(done.to_json())
    return results


async def dispatches_of_event(rt: Runtime, event_id: str) -> list[JSON]:
    """What an event dispatched (a repeated delivery answers with these)."""
    found = await rt.store.run(lambda: automation_store.dispatches_of_event(event_id))
    return [each.to_json() for each in found]


async def automation_schedule(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: each enabled schedule that is due dispatches once (no catch-up)."""
    due = await rt.registry.ask(KIND, KEY, TakeDue())
    outcomes: dict[str, int] = {"succeeded": 0, "failed": 0, "skipped": 0, "unkept": 0}
    for automation in due:
        due_at = automation.next_run_at
        try:
            done = await dispatch(rt, automation.id, "schedule", due_at=due_at)
        except NotFound:
            continue  # deleted or disabled since it was taken
        except Unavailable as error:
            # One result the store did not take costs the others nothing; this one's period
            # is put back so the next job runs it again.
            outcomes["unkept"] += 1
            log.warning("automation_schedule_unkept automation=%s error=%r", automation.id, error)
            if due_at is not None:
                await _untake(rt, Untake(automation.id, due_at, automation.version))
            continue
        outcomes[done.status] += 1
    return {"dispatched": len(due), **outcomes}


async def _untake(rt: Runtime, message: Untake) -> None:
    try:
        await rt.registry.ask(KIND, KEY, message)
    except Unavailable as error:  # still down: this period is lost (no catch-up)
        log.warning(
            "automation_schedule_period_lost automation=%s error=%r", message.automation_id, error
        )
