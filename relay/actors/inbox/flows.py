"""Inbox use cases: queue, fetch (with a long-poll), peek, ack, and the expiry jobs."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import trio

from relay.actors.inbox import messages as inbox
from relay.actors.runtime.context import Runtime
from relay.crossing import wait_future
from relay.domain.messages import Delivery, Message
from relay.errors import RelayError
from relay.store import messages as message_store

# A waiting long-poll wakes on its inbox's bell (a delivery queued, or requeued by the
# lease-expiry job) and, without one, when the inbox's earliest lease runs out: that
# delivery is fetchable again and nothing rings for it. It does not re-ask the actor on a
# timer, so 1,000 idle long-polls cost no actor traffic and let their actors go idle.
# The ceiling only bounds how long a changed clock (a test's, an adjusted host's) can go
# unnoticed.
_RECHECK_CEILING_SECONDS = 30.0


async def enqueue(
    rt: Runtime,
    agent_id: str,
    message: Message,
    *,
    matched_by: dict[str, str] | None = None,
    repeat: bool = False,
    after: concurrent.futures.Future[Any] | None = None,
) -> tuple[Delivery, bool]:
    """Queue ``message`` for ``agent_id`` (once). Replies ``(delivery, first)``, committed.

    ``after``: the message's own write, if it may not be committed yet; the delivery is
    stored only if it is.
    """
    reply = await rt.registry.ask(
        inbox.KIND,
        agent_id,
        inbox.Enqueue(message, matched_by=matched_by, repeat=repeat, after=after),
    )
    rt.doorbells.ring(inbox.waiting_key(agent_id))
    return reply


async def fetch(
    rt: Runtime,
    agent_id: str,
    *,
    lease_seconds: int,
    limit: int,
    wait_seconds: float,
    ack: str | None = None,
    stop: trio.Event | None = None,
) -> inbox.Handed:
    """Lease up to ``limit`` queued deliveries, waiting up to ``wait_seconds`` for one.

    With ``ack`` the deliveries of that lease are acked first, all or nothing, as ``ack``
    does with no ids (NotFound / Conflict with its messages, and then nothing is handed
    out); ``Handed.acked`` lists them. The ack is committed before any wait begins.

    While it waits, the fetch's offer stands (``Fetch.waiter``): the next delivery queued
    is leased to it by its ``Enqueue`` and returned once that write is committed, without
    asking the inbox again. A fetch cancelled after its offer was taken leaves that lease
    to run out, as any lease whose holder went away (the delivery is requeued). Once
    ``stop`` is set (its setter rings the inbox's bell), the wait ends: with what an offer
    taken meanwhile holds, else with nothing.
    """
    deadline = trio.current_time() + wait_seconds
    message = inbox.Fetch(lease_ms=lease_seconds * 1000, limit=limit, ack=ack)
    key = inbox.waiting_key(agent_id)
    acked: list[str] = []
    while True:
        bell = rt.doorbells.bell(key)  # before asking: no ring is missed
        waiter = inbox.FetchWaiter(message.lease_ms) if wait_seconds > 0 else None
        try:
            reply = await _ask_or_offer(rt, agent_id, replace(message, waiter=waiter))
            if message.ack is not None:
                acked = reply.acked
                message = replace(message, ack=None)
            remaining = deadline - trio.current_time()
            stopped = stop is not None and stop.is_set()
            done = bool(reply.deliveries) or remaining <= 0 or rt.draining.is_set() or stopped
            if not done:
                pause = min(remaining, _RECHECK_CEILING_SECONDS)
                if reply.next_lease_expiry is not None:
                    now = rt.clock.now_ms()
                    pause = min(pause, max(0.0, (reply.next_lease_expiry - now) / 1000))
                with trio.move_on_after(pause):
                    await bell.wait()
                done = stop is not None and stop.is_set()
        finally:
            # Never blocks, so a cancelled fetch withdraws too; one taken meanwhile is ours.
            taken = waiter is not None and not rt.handoffs.withdraw(key, waiter)
        if taken:
            assert waiter is not None
            try:
                offered = await wait_future(waiter.result, timeout=rt.store.timeout, what="inbox")
                await wait_future(offered.commit, timeout=rt.store.timeout, what="store")
            except RelayError:
                # The send's write failed (its message refused, the store failing it): no
                # lease of ours was stored. Wait on, as if it had never come; a store that
                # is down fails the next ask instead.
                continue
            return replace(offered.handed, acked=acked)
        if done:
            return replace(reply, acked=acked)


async def _ask_or_offer(rt: Runtime, agent_id: str, message: inbox.Fetch) -> inbox.Handed:
    """Ask the inbox; or, when its last activation stopped empty and nothing started it
    since (a delivery would have), answer "nothing" without starting a thread, offering
    the waiter here: on the trio thread, as a send starting the inbox, so no delivery
    falls between the two."""
    if message.ack is None and rt.registry.is_quiet(inbox.KIND, agent_id):
        if message.waiter is not None:
            rt.handoffs.offer(inbox.waiting_key(agent_id), message.waiter)
        return inbox.Handed(None, None, [], None)
    return await rt.registry.ask(inbox.KIND, agent_id, message)


async def peek(rt: Runtime, agent_id: str) -> list[Delivery]:
    return await rt.registry.ask(inbox.KIND, agent_id, inbox.Peek())


async def ack(
    rt: Runtime, agent_id: str, lease_id: str, delivery_ids: tuple[str, ...] | None
) -> list[str]:
    return await rt.registry.ask(inbox.KIND, agent_id, inbox.Ack(lease_id, delivery_ids))


async def _apply_due(rt: Runtime, find: Callable[[int], Awaitable[list[str]]]) -> dict[str, int]:
    now = rt.clock.now_ms()
    agents = await rt.store.run(lambda: find(now))
    totals = {"requeued": 0, "deadLettered": 0, "expired": 0}
    for agent_id in agents:
        counts = await rt.registry.ask(inbox.KIND, agent_id, inbox.ApplyDue())
        for key, value in counts.items():
            totals[key] += value
        if counts["requeued"]:
            rt.doorbells.ring(inbox.waiting_key(agent_id))
    return totals


async def inbox_lease_expiry(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: requeue or dead-letter deliveries whose lease expired."""
    totals = await _apply_due(rt, message_store.agents_with_leases_due)
    return {"requeued": totals["requeued"], "deadLettered": totals["deadLettered"]}


async def message_expiry(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: expire queued and leased deliveries of messages past expiresAt."""
    totals = await _apply_due(rt, message_store.agents_with_expiries_due)
    return {"expired": totals["expired"]}


async def message_retention(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: delete messages (and deliveries) expired over the retention period."""
    before = rt.clock.now_ms() - int(rt.settings.message_retention_days * 86_400_000)
    deleted = await rt.store.write(lambda: message_store.delete_expired_before(before))
    return {"deleted": deleted, "before": before}
