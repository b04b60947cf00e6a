"""Finishing sends cut short between storing a message and queuing its deliveries.

``send`` commits the message (its conversation actor) and then each delivery (each
recipient's inbox actor) in separate writes. A ``kill -9`` or a store outage in between
leaves a message nobody receives. The message keeps its recipients, so the start-up
recovery and the ``message-delivery-repair`` job queue the missing deliveries through the
inbox actors, as a repeated send would (``repeat=True``: a delivery stored meanwhile is
found, never doubled). The message itself, its seq included, is left as it was stored.
"""

from __future__ import annotations

import logging
from typing import Any

from relay.actors import inbox
from relay.actors.agent import wake_agent
from relay.actors.runtime.context import Runtime
from relay.domain.messages import Message
from relay.errors import Unavailable
from relay.store import agents as agent_store
from relay.store import messages as message_store

log = logging.getLogger("relay.actors.messaging.repair")

# The job leaves alone messages younger than this: their send may still be queuing their
# deliveries (it takes milliseconds; a send stalled by the store fails well within this).
REPAIR_GRACE_MS = 60_000
# And older than this: those the start-up recovery finished, or a send cut short while
# this process runs, which the job sees many times over within the hour.
REPAIR_LOOKBACK_MS = 3_600_000


async def repair_deliveries(
    rt: Runtime, created_from: int | None = None, created_to: int | None = None
) -> dict[str, Any]:
    """Queue every delivery a retained, unexpired message (created within the bounds) lacks.
    Replies ``{"messages": n, "deliveries": n}`` repaired."""
    now = rt.clock.now_ms()
    found = await rt.store.run(
        lambda: message_store.messages_missing_deliveries(now, created_from, created_to)
    )
    if not found:
        return {"messages": 0, "deliveries": 0}
    wanted = tuple(dict.fromkeys(r.agent_id for _, lacking in found for r in lacking))
    agents = await rt.store.run(lambda: agent_store.orchestrators_of(wanted))
    messages = deliveries = 0
    for message, lacking in found:
        queued = 0
        for recipient in lacking:
            if recipient.agent_id not in agents:
                continue  # deregistered since: there is no inbox to repair
            _delivery, first = await inbox.enqueue(
                rt, recipient.agent_id, message, matched_by=recipient.matched_by, repeat=True
            )
            queued += 1
            if first:
                await _wake(rt, recipient.agent_id, message)
        if queued:
            messages += 1
            deliveries += queued
            log.warning("message_deliveries_repaired message=%s count=%d", message.id, queued)
    return {"messages": messages, "deliveries": deliveries}


async def repair_on_start(rt: Runtime) -> dict[str, Any]:
    """Start-up recovery: no send is in flight yet, so every message lacking a delivery
    was cut short by the previous process."""
    return await repair_deliveries(rt)


async def message_delivery_repair(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: repair the messages of the last hour past the grace period."""
    now = rt.clock.now_ms()
    return await repair_deliveries(rt, now - REPAIR_LOOKBACK_MS, now - REPAIR_GRACE_MS)


async def _wake(rt: Runtime, agent_id: str, message: Message) -> None:
    # As a send's first delivery does; the delivery is committed, so a wake that cannot be
    # queued now is logged, never an error.
    try:
        await wake_agent(
            rt,
            agent_id,
            "message",
            message_id=message.id,
            sender=message.sender,
            importance=message.importance,
        )
    except Unavailable as error:
        log.warning("agent_wake_unavailable agent=%s message=%s: %s", agent_id, message.id, error)
