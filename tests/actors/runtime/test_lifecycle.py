"""``open_runtime``: what runs inside the block, and the order everything stops in on exit.

The stop order is the contract: the schedule first (its jobs ask actors), then the actors
(each flushes the writes it queued), the event streams, and the store last. Writes told
to an actor (no reply awaited) are the witness: they reach the database only if every
actor handled its mailbox and flushed before the store closed, which a second runtime on
the same database then reads back.

Waits are bounded (``trio.fail_after``, joins with a timeout); nothing sleeps for timing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pykka
import pytest
import trio

from relay.actors import Runtime, agent, maintenance, open_runtime
from relay.actors.agent.rules import register_card
from relay.actors.runtime import AggregateActor, JobSpec
from relay.clock import ManualClock
from relay.domain.agents import AgentCard, AgentPatch, AgentRegistration
from relay.errors import Unavailable
from relay.events import Delivery, Ephemeral, StreamFilter, Subscription
from relay.settings import Settings
from relay.store import agents as agent_store

WAIT_S = 10  # a bound on waits that take milliseconds
TOLD = 50  # writes told to an actor just before the runtime closes


class Boom(Exception):
    """Raised inside the block by the test."""


async def register_agent(rt: Runtime, agent_id: str) -> AgentCard:
    card, _created = await rt.registry.ask(
        agent.KIND, agent_id, agent.Register(AgentRegistration(id=agent_id))
    )
    return card


def tell_patches(rt: Runtime, agent_id: str) -> None:
    """Queue ``TOLD`` patches in the actor's mailbox, ``meta.n`` = 1 … TOLD, awaiting none."""
    for n in range(1, TOLD + 1):
        rt.registry.tell(agent.KIND, agent_id, agent.Patch(AgentPatch(meta={"n": n})))


async def stored_agent(settings: Settings, clock: ManualClock, agent_id: str) -> AgentCard | None:
    """The agent as a fresh runtime on the same database reads it."""
    async with open_runtime(settings, clock) as again:
        return await again.store.run(lambda: agent_store.load(agent_id))


class Gated(AggregateActor):
    """Writes the card it is told to, once its gate opens: an actor busy as the exit begins."""

    kind = "gated"

    def __init__(self, key: str, runtime: Runtime, gate: threading.Event) -> None:
        super().__init__(key, runtime)
        self.gate = gate

    def load(self) -> None:
        pass

    def handle(self, message: AgentRegistration) -> None:
        self.gate.wait(WAIT_S)
        card = register_card(None, message, self.rt.clock.now_ms())
        self.write(lambda: agent_store.insert(card))


async def until_end(subscription: Subscription) -> list[Delivery | Ephemeral]:
    """What ``subscription`` hands over until it ends (returns only at its end)."""
    arrived: list[Delivery | Ephemeral] = []
    while True:
        try:
            arrived += await subscription.receive(10)
        except trio.EndOfChannel:
            return arrived


def new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before``, but trio's idle worker threads (a cache of trio's)."""
    return [
        thread
        for thread in threading.enumerate()
        if thread not in before and not thread.name.startswith("Trio thread")
    ]


async def test_inside_the_block_the_store_schedule_and_events_run(
    settings: Settings, clock: ManualClock
) -> None:
    async with open_runtime(settings, clock) as rt:
        assert rt.store.started
        assert not rt.store.closing

        # The schedule is served: a job runs now, through the MaintenanceActor's ledger.
        outcome = await rt.maintenance.run_now("agent-reaper")
        assert outcome.error is None
        assert outcome.job.last_run_at == clock.now_ms()

        # The event hub is started: an actor's committed change reaches a subscriber.
        await register_agent(rt, "a1")
        with rt.events.subscribe(StreamFilter(agent_id="a1"), buffer=10) as subscription:
            await rt.registry.ask(agent.KIND, "a1", agent.Patch(AgentPatch(name="Seen")))
            with trio.fail_after(WAIT_S):
                # The registration's own event may still be on its way (the batch window).
                changes: list[dict[str, Any]] = []
                while not changes or changes[-1]["change"] != "updated":
                    batch = await subscription.receive(10)
                    changes += [d.event.data for d in batch if isinstance(d, Delivery)]
        assert [c["agent"]["name"] for c in changes if c["change"] == "updated"] == ["Seen"]


async def test_on_exit_the_schedule_actors_events_and_store_are_stopped(
    settings: Settings, clock: ManualClock
) -> None:
    with contextlib.ExitStack() as subscriptions:
        async with open_runtime(settings, clock) as rt:
            await register_agent(rt, "a1")
            ref = rt.registry.ref(agent.KIND, "a1")
            ledger = rt.registry.ref(maintenance.KIND, maintenance.KEY)
            streaming = subscriptions.enter_context(rt.events.subscribe(StreamFilter(), buffer=10))

        # An open stream ends with the runtime. The registration's own event may still be
        # on its way (the batch window) and arrive first; only what a1's registration
        # caused may come before the end.
        with trio.fail_after(WAIT_S):
            arrived = await until_end(streaming)
        assert all(
            isinstance(d, Delivery) and d.event.data.get("agent", {}).get("id") == "a1"
            for d in arrived
        ), arrived

    assert rt.store.closing
    assert not ref.is_alive()
    assert not ledger.is_alive()
    assert rt.registry.live_counts() == {}
    with pytest.raises(Unavailable, match=r"^maintenance scheduler is not running$"):
        await rt.maintenance.run_now("agent-reaper")
    with pytest.raises(Unavailable, match=r"^agent actor is stopping$"):
        await rt.registry.ask(agent.KIND, "a1", agent.Heartbeat())
    with (
        rt.events.subscribe(StreamFilter(), buffer=10) as late,
        pytest.raises(trio.EndOfChannel),
    ):
        await late.receive(10)  # closed at once: nothing will come


async def test_the_stop_order_is_schedule_actors_events_store(
    settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    stops: list[str] = []
    gate = threading.Event()

    async with open_runtime(settings, clock) as rt:
        schedule_stop, actors_stop = rt.maintenance.stop, rt.registry.stop_all
        events_stop, store_stop = rt.events.stop, rt.store.stop

        async def stop_schedule() -> None:
            stops.append("schedule")
            await schedule_stop()

        def stop_actors(timeout: float = 10.0) -> None:
            stops.append("actors")
            gate.set()  # the busy actor writes now, as it is told to stop
            actors_stop(timeout)

        def stop_events() -> None:
            stops.append("events")
            events_stop()

        def stop_store() -> None:
            stops.append("store")
            store_stop()

        monkeypatch.setattr(rt.maintenance, "stop", stop_schedule)
        monkeypatch.setattr(rt.registry, "stop_all", stop_actors)
        monkeypatch.setattr(rt.events, "stop", stop_events)
        monkeypatch.setattr(rt.store, "stop", stop_store)
        rt.registry.register_kind(Gated.kind, lambda key: Gated.start(key, rt, gate))
        rt.registry.tell(Gated.kind, "g1", AgentRegistration(id="g1", name="Late"))

    assert stops == ["schedule", "actors", "events", "store"]
    # Its write was queued only once the actors were told to stop, and still committed.
    card = await stored_agent(settings, clock, "g1")
    assert card is not None
    assert card.name == "Late"


async def test_told_writes_are_flushed_before_the_store_closes(
    settings: Settings, clock: ManualClock
) -> None:
    async with open_runtime(settings, clock) as rt:
        await register_agent(rt, "a1")
        tell_patches(rt, "a1")  # in the mailbox, ahead of the stop the exit sends

    card = await stored_agent(settings, clock, "a1")
    assert card is not None
    assert card.meta == {"n": TOLD}


async def test_a_job_still_running_at_exit_is_stopped_before_the_actors_and_the_store(
    settings: Settings, clock: ManualClock
) -> None:
    started = trio.Event()
    seen_when_cancelled: dict[str, Any] = {}

    async def endless(rt: Runtime) -> dict[str, Any]:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            # What the job's own cleanup can still rely on when the runtime stops it.
            seen_when_cancelled["ledger_live"] = rt.registry.is_live(
                maintenance.KIND, maintenance.KEY
            )
            seen_when_cancelled["store_closing"] = rt.store.closing
        return {}

    async with open_runtime(settings, clock) as rt:
        rt.maintenance.register_job(JobSpec("endless", 3600, endless))
        async with trio.open_nursery() as nursery:
            # A caller that goes away leaves the run going: it is the schedule's own task.
            nursery.start_soon(rt.maintenance.run_now, "endless")
            with trio.fail_after(WAIT_S):
                await started.wait()
            nursery.cancel_scope.cancel()

    assert seen_when_cancelled == {"ledger_live": True, "store_closing": False}
    assert rt.store.closing


async def test_an_exception_in_the_block_still_tears_down_in_order(
    settings: Settings, clock: ManualClock
) -> None:
    before = set(threading.enumerate())
    opened: list[Runtime] = []

    async def fail_inside() -> None:
        async with open_runtime(settings, clock) as rt:
            opened.append(rt)
            await register_agent(rt, "a1")
            tell_patches(rt, "a1")
            assert new_threads(before), "the store and the actors run in threads of their own"
            raise Boom

    with pytest.raises(Boom):
        await fail_inside()

    [rt] = opened
    assert rt.store.closing
    assert rt.registry.live_counts() == {}
    assert pykka.ActorRegistry.get_by_class(agent.AgentActor) == []
    left = new_threads(before)
    for thread in left:  # stopped threads may still be on their way out: bounded joins
        await trio.to_thread.run_sync(thread.join, WAIT_S)
    assert [thread.name for thread in left if thread.is_alive()] == []

    card = await stored_agent(settings, clock, "a1")
    assert card is not None
    assert card.meta == {"n": TOLD}  # the actor flushed before the store closed


async def test_a_cancelled_block_still_tears_down_in_order(
    settings: Settings, clock: ManualClock
) -> None:
    # As when the caller's nursery is cancelled: the stop is shielded and still complete.
    with trio.CancelScope() as scope:
        async with open_runtime(settings, clock) as rt:
            await register_agent(rt, "a1")
            tell_patches(rt, "a1")
            scope.cancel()
            await trio.sleep_forever()

    assert scope.cancelled_caught
    assert rt.store.closing
    assert rt.registry.live_counts() == {}
    card = await stored_agent(settings, clock, "a1")
    assert card is not None
    assert card.meta == {"n": TOLD}


async def test_a_store_that_cannot_open_fails_the_start_with_its_own_error(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    before = set(threading.enumerate())
    unopenable = settings.model_copy(
        update={"database_url": f"sqlite://{tmp_path / 'no-such-dir' / 'relay.sqlite3'}"}
    )

    # The store's own error, not an ExceptionGroup around it.
    with pytest.raises(sqlite3.OperationalError, match="unable to open database file"):
        async with open_runtime(unopenable, clock):
            pytest.fail("the block ran without a store")

    left = new_threads(before)
    for thread in left:
        await trio.to_thread.run_sync(thread.join, WAIT_S)
    assert [thread.name for thread in left if thread.is_alive()] == []
