"""Audit events: one activity row, then the same event on the live stream."""

from __future__ import annotations

import concurrent.futures

from relay.actors.runtime import Runtime
from relay.crossing import wait_future
from relay.domain.activity import ActivityEvent, ActivityInput
from relay.store import activity as activity_store


def audit(
    rt: Runtime, event: ActivityInput
) -> concurrent.futures.Future[tuple[ActivityEvent, bool]]:
    """Queue the event for the next group commit (callable from any thread); returns its future.

    The write is ordered after every write queued before it, so an audit queued by an
    actor right after its state change is stored after that change.
    """
    now = rt.clock.now_ms()
    future = rt.store.submit_write(lambda: activity_store.append(event, now))

    def publish(done: concurrent.futures.Future[tuple[ActivityEvent, bool]]) -> None:
        if done.exception() is None:
            stored, created = done.result()
            if created:
                rt.events.publish(
                    "activity", stored.to_json(), view=stored.view, agent_id=stored.agent_id
                )

    future.add_done_callback(publish)
    return future


async def record(rt: Runtime, event: ActivityInput) -> ActivityEvent:
    """Audit from trio and wait until the event is stored (a 2xx then implies the audit)."""
    stored, _created = await wait_future(
        audit(rt, event), timeout=rt.settings.store_timeout_seconds, what="store"
    )
    return stored
