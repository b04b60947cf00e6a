"""The trio ⇄ pykka bridge: ``await ask(...)`` returns, raises, times out, never blocks trio."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import pykka
import pytest
import trio
import trio.testing

from relay.actors import Runtime, agent
from relay.actors.runtime.bridge import Ask, Durable, RelayActor, TrioFuture, ask
from relay.domain.agents import AgentRegistration
from relay.errors import NotFound, Unavailable
from relay.store import agents as agent_store


def raw(message: object) -> Ask[Any]:
    """A message that is no ``Ask``, for ``ask``: these actors reply to anything."""
    return cast("Ask[Any]", message)


class Echo(RelayActor):
    """Replies what it is told; raises what it is given."""

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Exception):
            raise message
        return ("echo", message)


class Blocked(RelayActor):
    """Never replies until the test opens the gate (an actor stuck on something slow)."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def on_receive(self, message: Any) -> Any:
        self.gate.wait()
        return message


class Committing(RelayActor):
    """Replies ``Durable(value, commit)`` with the commit future the test controls."""

    def __init__(self, commit: concurrent.futures.Future[Any]) -> None:
        super().__init__()
        self.commit = commit

    def on_receive(self, message: Any) -> Any:
        if message == "ping":
            return "pong"
        return Durable(message, self.commit)


class Plain(pykka.ThreadingActor):
    use_daemon_thread = True

    def on_receive(self, message: Any) -> Any:
        return message


@pytest.fixture
def actors() -> Iterator[list[pykka.ActorRef[Any]]]:
    """Refs started by a test; stopped afterwards (never left running into the next test)."""
    refs: list[pykka.ActorRef[Any]] = []
    yield refs
    for ref in refs:
        if ref.is_alive():
            ref.stop(block=True, timeout=5)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # release a blocked actor so it can stop


async def test_ask_returns_the_reply(actors: list[pykka.ActorRef[Any]]) -> None:
    ref = Echo.start()
    actors.append(ref)
    assert await ask(ref, raw("hi"), timeout=5, what="echo") == ("echo", "hi")


async def test_ask_raises_what_the_actor_raised(actors: list[pykka.ActorRef[Any]]) -> None:
    ref = Echo.start()
    actors.append(ref)
    with pytest.raises(NotFound, match=r"^agent not found$"):
        await ask(ref, raw(NotFound("agent not found")), timeout=5, what="echo")
    # ... and the actor survives a failed message.
    assert await ask(ref, raw("again"), timeout=5, what="echo") == ("echo", "again")


async def test_ask_to_a_stopped_actor_raises_actor_dead(
    actors: list[pykka.ActorRef[Any]],
) -> None:
    ref = Echo.start()
    await trio.to_thread.run_sync(lambda: ref.stop(block=True, timeout=5))
    with pytest.raises(pykka.ActorDeadError):
        await ask(ref, raw("hi"), timeout=5, what="echo")


async def test_ask_refuses_an_actor_without_trio_futures(
    actors: list[pykka.ActorRef[Any]],
) -> None:
    # A plain pykka future cannot wake trio: waiting on it would need a blocking .get().
    ref = Plain.start()
    actors.append(ref)
    with pytest.raises(TypeError, match="RelayActor"):
        await ask(ref, raw("hi"), timeout=5, what="plain")


async def test_ask_that_gets_no_reply_in_time_is_unavailable(
    autojump_clock: trio.testing.MockClock,
    actors: list[pykka.ActorRef[Any]],
    gate: threading.Event,
) -> None:
    # The mock clock jumps to the deadline as soon as trio has nothing else to do.
    ref = Blocked.start(gate)
    actors.append(ref)
    with pytest.raises(Unavailable) as raised:
        await ask(ref, raw("hi"), timeout=30, what="slow actor")
    assert raised.value.message == "slow actor timed out"
    assert raised.value.status == 503
    assert raised.value.headers == {"Retry-After": "1"}
    assert trio.current_time() >= 30


async def test_ask_answers_a_durable_reply_only_once_committed(
    actors: list[pykka.ActorRef[Any]],
) -> None:
    commit: concurrent.futures.Future[Any] = concurrent.futures.Future()
    ref = Committing.start(commit)
    actors.append(ref)
    answers: list[Any] = []

    async def asker() -> None:
        answers.append(await ask(ref, raw("v"), timeout=30, what="committing"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(asker)
        # The actor handles messages in order: once "ping" is answered, the durable reply
        # was sent too, and its wake-up was queued to trio before ping's.
        assert await ask(ref, raw("ping"), timeout=5, what="committing") == "pong"
        await trio.testing.wait_all_tasks_blocked()
        assert answers == []  # replied, but not committed: not acknowledged yet

        commit.set_result(None)
    assert answers == ["v"]


async def test_ask_on_a_commit_that_never_lands_is_unavailable(
    mock_clock: trio.testing.MockClock, actors: list[pykka.ActorRef[Any]]
) -> None:
    # The clock jumps only after trio has idled 0.2 s of real time: long enough for the
    # actor's thread to hand its reply back (microseconds), then the commit wait jumps to
    # its deadline. (With a threshold of 0 the clock would jump over the reply.)
    mock_clock.autojump_threshold = 0.2
    ref = Committing.start(concurrent.futures.Future())
    actors.append(ref)
    with pytest.raises(Unavailable, match=r"^store timed out$"):
        await ask(ref, raw("v"), timeout=30, what="committing")


async def test_ask_returns_a_durable_value_once_committed(
    actors: list[pykka.ActorRef[Any]],
) -> None:
    commit: concurrent.futures.Future[Any] = concurrent.futures.Future()
    commit.set_result(None)
    ref = Committing.start(commit)
    actors.append(ref)
    assert await ask(ref, raw("v"), timeout=5, what="committing") == "v"


async def test_ask_raises_a_failed_durable_commit(actors: list[pykka.ActorRef[Any]]) -> None:
    commit: concurrent.futures.Future[Any] = concurrent.futures.Future()
    commit.set_exception(RuntimeError("disk full"))
    ref = Committing.start(commit)
    actors.append(ref)
    with pytest.raises(RuntimeError, match="disk full"):
        await ask(ref, raw("v"), timeout=5, what="committing")


# -- under load ----------------------------------------------------------------------------

AGENTS = 50
# 500 agent heartbeats: one round in five behind a store read (as a handler that checks the
# card first), the rest direct asks.
ROUNDS = 10
SLOW_S = 1.0  # a store job / an actor reply that takes this long (a slow disk, a busy actor)
SLOW_CALLS = 10
TICK_S = 0.001
# The ticker should run every ~1 ms. Under this load the trio thread also runs 100 store
# reads and hundreds of ask wake-ups, and shares the GIL with 60 actor threads and the
# store thread, so a tick can slip by tens of ms (up to ~190 ms seen on a loaded machine).
# If any await of the store or of an actor blocked the loop instead, the slow calls alone
# would stall it for at least SLOW_S per blocked call (measured: 5 s when the slow store
# calls block). 500 ms sits well above the noise and well below one blocked slow call.
MAX_GAP_S = 0.5


class Sleepy(RelayActor):
    """Replies after ``SLOW_S`` on its own thread."""

    def on_receive(self, message: Any) -> Any:
        time.sleep(SLOW_S)
        return message


async def test_trio_loop_keeps_ticking_while_hundreds_of_asks_complete(
    runtime: Runtime, actors: list[pykka.ActorRef[Any]]
) -> None:
    rt = runtime
    agent_ids = [f"load-{n}" for n in range(AGENTS)]
    for agent_id in agent_ids:
        _card, created = await rt.registry.ask(
            agent.KIND, agent_id, agent.Register(AgentRegistration(id=agent_id))
        )
        assert created
    sleepy = [Sleepy.start() for _ in range(SLOW_CALLS)]
    actors.extend(sleepy)

    gaps: list[float] = []
    done: list[str] = []

    async def ticker(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        last = trio.current_time()
        task_status.started()
        while True:
            await trio.sleep(TICK_S)
            now = trio.current_time()
            gaps.append(now - last)
            last = now

    async def read_then_beat(agent_id: str) -> None:
        assert await rt.store.run(lambda: agent_store.load(agent_id)) is not None
        card = await rt.registry.ask(agent.KIND, agent_id, agent.Heartbeat())
        assert card.status == "online"
        done.append("read")

    async def direct(agent_id: str) -> None:
        card = await rt.registry.ask(agent.KIND, agent_id, agent.Heartbeat())
        assert card.status == "online"
        done.append("direct")

    async def slow_store() -> None:
        await rt.store.run(lambda: asyncio.sleep(SLOW_S))
        done.append("store")

    async def slow_actor(ref: pykka.ActorRef[Any]) -> None:
        assert await ask(ref, raw("x"), timeout=10 * SLOW_S, what="sleepy") == "x"
        done.append("actor")

    # As `relay serve` does after start-up: without it, one full collection over the
    # test session's objects pauses every thread for ~150 ms, which says nothing of the
    # bridge.
    gc.collect()
    gc.freeze()
    try:
        async with trio.open_nursery() as outer:
            await outer.start(ticker)
            async with trio.open_nursery() as load:
                for round_ in range(ROUNDS):
                    for agent_id in agent_ids:
                        load.start_soon(read_then_beat if round_ % 5 == 0 else direct, agent_id)
                for ref in sleepy:
                    load.start_soon(slow_actor, ref)
                    load.start_soon(slow_store)
            outer.cancel_scope.cancel()
    finally:
        gc.unfreeze()

    assert sorted(done) == sorted(
        ["read"] * (AGENTS * ROUNDS // 5)
        + ["direct"] * (AGENTS * ROUNDS * 4 // 5)
        + ["store", "actor"] * SLOW_CALLS
    )
    # The slow calls ran side by side: the ticker saw the whole second go by.
    assert sum(gaps) >= SLOW_S
    assert max(gaps) < MAX_GAP_S, f"trio loop stalled for {max(gaps) * 1000:.0f} ms"


def test_a_durable_reply_wakes_the_asker_once_and_only_once_committed() -> None:
    # The reply and its commit cost the trio thread one wake-up, not two.
    future: TrioFuture[Any] = TrioFuture()
    woken: list[str] = []
    future.on_done(lambda: woken.append("woken"))
    commit: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set(Durable("v", commit))
    assert future.replied
    assert woken == []
    commit.set_result(None)
    assert woken == ["woken"]


def test_a_reply_already_committed_wakes_the_asker_at_once() -> None:
    future: TrioFuture[Any] = TrioFuture()
    woken: list[str] = []
    future.on_done(lambda: woken.append("woken"))
    commit: concurrent.futures.Future[Any] = concurrent.futures.Future()
    commit.set_result(None)
    future.set(Durable("v", commit))
    assert woken == ["woken"]
