"""The command channel, as the trio side drives it: create, hand out, update, expire.

Each function sends messages to the target's actor (the queue's only writer; its
registry kind is the command's ``target_kind``) and, when an update settles a
command, runs its settle hooks.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from relay.actors.commands.messages import Enqueue, ExpireDue, Handout, Poll, UpdateStatus
from relay.actors.commands.rules import poll_spread
from relay.actors.runtime.context import Runtime
from relay.domain.activity import ActivityInput
from relay.domain.commands import Command, CommandSpec, CommandStatus, Settlement, TargetKind
from relay.errors import Conflict, NotFound
from relay.store import agents as agent_store
from relay.store import commands as command_store
from relay.store import orchestrators as orchestrator_store

# A settle whose effects have not been marked after this long is treated as interrupted.
EFFECTS_GRACE_MS = 60_000
SETTLED_PAGE = 200  # command_store.settled_without_effects' default limit


async def resolve_target(rt: Runtime, target: str) -> tuple[TargetKind, str]:
    """An orchestrator id, an orchestrator's agent id, or an agent id. Raises NotFound."""
    if rt.routing.is_orchestrator(target):
        return "orchestrator", target
    orchestrator_id = await rt.store.run(lambda: orchestrator_store.resolve_target(target))
    if orchestrator_id is not None:
        if orchestrator_id == target:
            rt.routing.orchestrator_exists(orchestrator_id)
        return "orchestrator", orchestrator_id
    if await rt.store.run(lambda: agent_store.load(target)) is not None:
        return "agent", target
    raise NotFound("target not found")


async def create(
    rt: Runtime, spec: CommandSpec, *, audits: tuple[ActivityInput, ...] = ()
) -> Command:
    """Queue a command; it is stored, with its audit event and ``audits``, when this returns."""
    return await rt.registry.ask(spec.target_kind, spec.target, Enqueue(spec, audits))


async def load(rt: Runtime, command_id: str) -> Command:
    """The command as stored, with every change the relay has made to it so far.

    Read in the write queue, behind the writes already queued: a delivery is handed out
    before its write commits, and its target must not read the command back as queued.
    """
    command = await rt.store.write(lambda: command_store.load(command_id))
    if command is None:
        raise NotFound("command not found")
    return command


async def take(
    rt: Runtime,
    kind: TargetKind,
    target: str,
    *,
    wait_seconds: float,
    limit: int = 50,
    stop: trio.Event | None = None,
) -> list[Command]:
    """Deliverable commands for ``target``, waiting up to ``wait_seconds`` for one to arrive.

    The wait ends when the target's actor rings its doorbell (a command was queued),
    when an unacknowledged command falls due for redelivery, or at the deadline; or, with
    nothing taken, once ``stop`` is set (its setter rings the doorbell).
    """
    # Spread a little past the deadline: long-polls sent together (a fleet reconnecting)
    # then do not all answer in the same tick and stall the trio thread.
    deadline = trio.current_time() + wait_seconds + poll_spread(wait_seconds, random.random())  # noqa: S311 - not a secret
    while True:
        bell = rt.doorbells.bell(target)  # before asking: a ring cannot slip in between
        handout: Handout = await rt.registry.ask(kind, target, Poll(limit))
        for expired in handout.expired:
            await rt.settle_hooks.run(rt, expired)
        if handout.commands or trio.current_time() >= deadline or rt.draining.is_set():
            return handout.commands
        wake_at = deadline
        if handout.next_wake_at is not None:
            due_in = max(0.0, (handout.next_wake_at - rt.clock.now_ms()) / 1000)
            wake_at = min(deadline, trio.current_time() + due_in)
        with trio.move_on_at(wake_at):
            await bell.wait()
        if stop is not None and stop.is_set():
            return []
        if wake_at >= deadline and not bell.is_set():
            # The deadline, and nothing rang: nothing was queued since the last ask, and
            # nothing fell due before the deadline (``wake_at`` would be earlier). Asking
            # again would cost an actor round trip per waiter at the moment they expire.
            return []


async def update(
    rt: Runtime,
    command_id: str,
    status: CommandStatus,
    *,
    result: object = None,
    error: str | None = None,
    authorize: Callable[[TargetKind, str], Awaitable[None]] | None = None,
) -> Settlement:
    """Apply a status report; runs the settle hooks if this update settled the command.

    ``authorize(target_kind, target)`` raises if the caller may not report on commands of
    that target.
    """
    route = rt.routing.command_target(command_id)
    if route is None:  # settled, queued before a restart, or unknown: ask the store
        command = await load(rt, command_id)
        route = (command.target_kind, command.target)
    kind, target = route
    if authorize is not None:
        await authorize(kind, target)
    settlement: Settlement = await rt.registry.ask(
        kind, target, UpdateStatus(command_id, status, result, error)
    )
    command = settlement.command
    if settlement.settled_now or (command.settled and not command.effects_applied):
        # A repeated report of a settle whose effects are not marked yet (its first report
        # is still running them, or a stop interrupted them): run the idempotent hooks, so
        # a 200 always means the settle's effects are in place.
        await rt.settle_hooks.run(rt, command)
    if settlement.settled_now and command.status == "expired":
        # The report came after the command's TTL: the command expired instead (its
        # effects ran above), and the report is refused as for any settled command.
        raise Conflict("command already settled")
    return settlement


async def expire_and_redeliver(rt: Runtime) -> dict[str, int]:
    """Maintenance: expire commands past their TTL and wake queues with overdue deliveries."""
    now = rt.clock.now_ms()
    targets = await rt.store.run(lambda: command_store.targets_needing_attention(now))
    expired = 0
    for kind, target in targets:
        try:
            done: list[Command] = await rt.registry.ask(kind, target, ExpireDue())
        except NotFound:
            continue  # the target was deleted; its commands stay as they are
        for command in done:
            await rt.settle_hooks.run(rt, command)
        expired += len(done)
    return {"queues": len(targets), "expired": expired}


async def apply_missed_effects(rt: Runtime, *, grace_ms: int = EFFECTS_GRACE_MS) -> dict[str, int]:
    """Maintenance: run the hooks of settled commands whose effects never ran.

    While running, a settle's effects normally follow it within milliseconds: the job
    leaves those settled in the last ``grace_ms`` to their own caller.
    """
    before = rt.clock.now_ms() - grace_ms
    pending = await rt.store.run(lambda: command_store.settled_without_effects(before))
    applied = 0
    for command in pending:
        applied += int(await rt.settle_hooks.run(rt, command))
    return {"pending": len(pending), "applied": applied}


async def apply_effects_on_start(rt: Runtime) -> dict[str, int]:
    """At start: run the hooks of every settled command whose effects never ran.

    Nothing is in flight at start, so there is no grace period to wait out: a settle that
    a stop (or a ``kill -9``) cut off from its effects gets them before the relay serves.
    """
    totals = {"pending": 0, "applied": 0}
    while True:
        batch = await apply_missed_effects(rt, grace_ms=0)
        totals = {key: totals[key] + batch[key] for key in totals}
        # A batch is at most the store's page; stop once one comes back short or stuck.
        if batch["applied"] == 0 or batch["pending"] < SETTLED_PAGE:
            return totals


async def command_expiry(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: expire commands past their TTL, wake queues with unacknowledged
    deliveries, and run the settle effects a restart interrupted."""
    expired = await expire_and_redeliver(rt)
    effects = await apply_missed_effects(rt)
    return {**expired, "effectsRecovered": effects["applied"]}
