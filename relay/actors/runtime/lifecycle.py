"""Building, starting and stopping the runtime, in order, with no web framework involved.

``assemble`` builds a runtime (nothing started) and lets each aggregate install itself;
``running`` starts it and stops it again::

    async with running(assemble(settings, clock, installs)) as runtime:
        ...

``relay.actors.open_runtime`` does both with every aggregate of the relay.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import trio

from relay.actors.runtime import pool
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.passivation import passivate_idle_actors
from relay.actors.runtime.registry import ActorRegistry
from relay.clock import Clock
from relay.events import EventHub
from relay.settings import Settings
from relay.store.thread import StoreThread

log = logging.getLogger("relay.actors")

Install = Callable[[Runtime], None]
"""What an aggregate package exports as ``install``: it registers its actor kinds, its
settle hooks and its maintenance jobs with the runtime it is given."""


def assemble(settings: Settings, clock: Clock, installs: Sequence[Install]) -> Runtime:
    """A runtime with the store (not started), the registry and each aggregate installed."""
    runtime = Runtime(
        settings=settings,
        clock=clock,
        store=StoreThread(
            settings.resolved_database_url(),
            timeout=settings.store_timeout_seconds,
            idle_in_transaction_seconds=settings.leader_renew_deadline_seconds,
            waiting=pool.blocking,
        ),
        registry=ActorRegistry(ask_timeout=settings.ask_timeout_seconds),
        events=EventHub(),
    )
    for install in installs:
        install(runtime)
    return runtime


async def recover(runtime: Runtime) -> None:
    """Run the aggregates' start-up recoveries, in the order they were installed.

    Nothing is in flight yet, so whatever a previous process left half done (a settle
    whose effects never ran, a lease whose command was never queued) is finished now,
    not after a grace period. A failure is logged, not fatal: the maintenance jobs retry.
    """
    for step in runtime.recoveries:
        try:
            outcome = await step(runtime)
        except Exception as exc:
            log.exception("recovery_failed step=%s error=%r", getattr(step, "__name__", step), exc)
        else:
            log.info("recovered step=%s outcome=%s", getattr(step, "__name__", step), outcome)


@asynccontextmanager
async def running(runtime: Runtime, nursery: trio.Nursery | None = None) -> AsyncIterator[Runtime]:
    """Start the store, the event hub, the recoveries, the idle sweep and the schedule; stop
    them on exit.

    The idle sweep and the schedule run in ``nursery`` (a web app passes the one it
    serves in: its start-up and shutdown are separate steps, which no nursery of ours
    may span) or, without one, in a nursery of this context's own.

    The stop is ordered and shielded (a web server cancels its tasks before it stops the
    app): the schedule first (its jobs ask actors), then the actors (each flushes its
    writes), the event streams, and the store last.
    """
    if nursery is None:
        # What the caller's block (or the start-up) raised leaves the nursery before it is
        # re-raised: through the nursery it would come out wrapped in an ExceptionGroup,
        # which no ``except`` around ``async with open_runtime(...)`` expects. Cancelled
        # and a failed sweep still go through the nursery, as trio needs them to.
        failed: Exception | None = None
        async with trio.open_nursery() as own:
            try:
                async with running(runtime, own) as started:
                    yield started
            except Exception as exc:
                failed = exc
            finally:
                own.cancel_scope.cancel()
        if failed is not None:
            raise failed
        return
    store = runtime.store
    if not store.started:  # ``relay serve`` opens it before serving, under the instance lock
        await trio.to_thread.run_sync(store.start)
    try:
        token = trio.lowlevel.current_trio_token()
        runtime.events.start(
            store,
            token,
            clock=runtime.clock,
            batch_window=runtime.settings.sse_batch_window_seconds,
        )
        runtime.doorbells.attach(token)
        await recover(runtime)
        nursery.start_soon(
            passivate_idle_actors, runtime.registry, runtime.settings.actor_idle_seconds
        )
        ledger = runtime.maintenance.ledger
        if ledger is not None:
            await nursery.start(runtime.maintenance.serve, runtime, ledger)
        yield runtime
    finally:
        with trio.CancelScope(shield=True):
            await runtime.maintenance.stop()
            await trio.to_thread.run_sync(runtime.registry.stop_all)
            runtime.events.stop()  # open event streams end; later events are not stored
            await trio.to_thread.run_sync(store.stop)
