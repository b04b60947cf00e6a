"""PooledActor: pykka actors on a few shared threads, one message at a time each, in order."""

from __future__ import annotations

import threading
from typing import Any

import pykka
import pytest

from relay.actors.runtime import pool
from relay.actors.runtime.pool import ActorPool, PooledActor
from relay.actors.runtime.registry import ActorRegistry

BOUND_S = 10.0


@pytest.fixture
def small_pool(monkeypatch: pytest.MonkeyPatch) -> ActorPool:
    """A pool of two threads that exit soon after their last work, for this test only."""
    fresh = ActorPool(max_threads=2, idle_seconds=0.05)
    monkeypatch.setattr(pool, "POOL", fresh)
    return fresh


MADE: list[Recorder] = []  # every Recorder, in order of creation


def _start(gate: threading.Event | None = None) -> tuple[pykka.ActorRef[Any], Recorder]:
    ref = Recorder.start(gate)
    return ref, MADE[-1]


class Recorder(PooledActor):
    """Notes each message, the thread it ran on, and whether two ever overlapped."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        super().__init__()
        self.gate = gate
        MADE.append(self)
        self.seen: list[Any] = []
        self.threads: set[str] = set()
        self.inside = False
        self.overlapped = False

    def on_receive(self, message: Any) -> Any:
        if self.inside:
            self.overlapped = True
        self.inside = True
        try:
            if self.gate is not None:
                assert self.gate.wait(BOUND_S)
            self.seen.append(message)
            self.threads.add(threading.current_thread().name)
            if message == "boom":
                raise ValueError("boom")
            return message
        finally:
            self.inside = False


def _stopped(ref: pykka.ActorRef[Any]) -> None:
    if ref.is_alive():
        ref.stop(block=True, timeout=BOUND_S)


def test_messages_run_in_order_one_at_a_time(small_pool: ActorPool) -> None:
    ref, actor = _start()

    def send(n: int) -> None:
        for i in range(200):
            ref.tell((n, i))

    try:
        senders = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(BOUND_S)
        assert ref.ask("last", timeout=BOUND_S) == "last"
        seen = [m for m in actor.seen if m != "last"]
        assert len(seen) == 800
        for n in range(4):  # each sender's messages in the order it sent them
            assert [i for s, i in seen if s == n] == list(range(200))
        assert not actor.overlapped
    finally:
        _stopped(ref)


def test_many_actors_share_the_pools_threads(small_pool: ActorPool) -> None:
    started = [_start() for _ in range(100)]
    refs = [ref for ref, _ in started]
    try:
        futures = [ref.ask(i, block=False) for i, ref in enumerate(refs)]
        assert [f.get(timeout=BOUND_S) for f in futures] == list(range(100))
        names = set().union(*(actor.threads for _, actor in started))
        assert len(names) <= 2
        assert all(name.startswith("relay-actor-pool-") for name in names)
        assert small_pool.thread_count() <= 2
    finally:
        for ref in refs:
            _stopped(ref)


def _no_threads_left(threads: ActorPool) -> None:
    """Wait (bounded) until every thread of ``threads`` has exited."""
    stop = threading.Event()
    for _ in range(int(BOUND_S / 0.01)):
        if threads.thread_count() == 0:
            return
        stop.wait(0.01)
    assert threads.thread_count() == 0


def test_idle_pool_threads_exit(small_pool: ActorPool) -> None:
    ref = Recorder.start()
    assert ref.ask("hi", timeout=BOUND_S) == "hi"
    _stopped(ref)
    _no_threads_left(small_pool)
    # And work coming back later gets a thread again.
    again = Recorder.start()
    try:
        assert again.ask("back", timeout=BOUND_S) == "back"
    finally:
        _stopped(again)


class Snoop(PooledActor):
    """Replies how many messages ``watched`` had handled when this one's ran."""

    def __init__(self, watched: Recorder) -> None:
        super().__init__()
        self.watched = watched

    def on_receive(self, message: Any) -> Any:
        return len(self.watched.seen)


def test_a_busy_actor_yields_its_thread_after_a_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    one = ActorPool(max_threads=1, idle_seconds=0.05)
    monkeypatch.setattr(pool, "POOL", one)
    gate = threading.Event()
    busy, busy_actor = _start(gate)
    other = None
    try:
        futures = [busy.ask(i, block=False) for i in range(3 * pool.SLICE)]
        other = Snoop.start(busy_actor)
        when = other.ask("when", block=False)
        gate.set()
        assert [f.get(timeout=BOUND_S) for f in futures] == list(range(3 * pool.SLICE))
        # The one thread turned to the other actor after a slice of the busy one's at most.
        assert when.get(timeout=BOUND_S) <= pool.SLICE
    finally:
        gate.set()
        _stopped(busy)
        if other is not None:
            _stopped(other)


def test_a_failed_ask_is_raised_to_the_asker_and_the_actor_goes_on(small_pool: ActorPool) -> None:
    ref = Recorder.start()
    try:
        with pytest.raises(ValueError, match="boom"):
            ref.ask("boom", timeout=BOUND_S)
        assert ref.ask("still here", timeout=BOUND_S) == "still here"
    finally:
        _stopped(ref)


def test_messages_behind_a_stop_and_after_it_are_refused_at_once(small_pool: ActorPool) -> None:
    gate = threading.Event()
    ref, actor = _start(gate)
    first = ref.ask("first", block=False)
    stop = ref.ask(pykka.messages._ActorStop(), block=False)
    behind = ref.ask("behind", block=False)
    gate.set()
    assert first.get(timeout=BOUND_S) == "first"
    assert stop.get(timeout=BOUND_S) is None
    with pytest.raises(pykka.ActorDeadError):
        behind.get(timeout=BOUND_S)
    # Sent straight to the stopped actor's mailbox (past ActorRef's liveness check): refused
    # at once, not left for the asker's timeout.
    late = pykka.ThreadingFuture[Any]()
    actor.actor_inbox.put(pykka._envelope.Envelope("late", reply_to=late))
    with pytest.raises(pykka.ActorDeadError):
        late.get(timeout=0.5)
    assert actor.seen == ["first"]


class FailsToStart(PooledActor):
    def on_start(self) -> None:
        raise RuntimeError("cannot load")

    def on_receive(self, message: Any) -> Any:
        return message


def test_an_actor_that_fails_to_start_refuses_what_waits(small_pool: ActorPool) -> None:
    ref = FailsToStart.start()
    with pytest.raises(pykka.ActorDeadError):
        ref.ask("anything", timeout=BOUND_S)


def test_a_pooled_kind_starts_without_a_thread_of_its_own(small_pool: ActorPool) -> None:
    registry = ActorRegistry(ask_timeout=5)
    registry.register_kind("rec", lambda _key: Recorder.start(), pooled=True)
    before = threading.active_count()
    try:
        refs = [registry.ref("rec", str(i)) for i in range(50)]
        assert [r.ask(i, timeout=BOUND_S) for i, r in enumerate(refs)] == list(range(50))
        assert threading.active_count() <= before + 2  # the pool's two, at most
    finally:
        registry.stop_all()


class WaitsOnTheStore(PooledActor):
    """Its handler waits (as on a store read) inside ``pool.blocking()`` until released."""

    def __init__(self, inside: threading.Event, release: threading.Event) -> None:
        super().__init__()
        self.inside = inside
        self.release = release

    def on_receive(self, message: Any) -> Any:
        with pool.blocking():
            self.inside.set()
            assert self.release.wait(BOUND_S)
        return message


def test_a_handler_waiting_on_the_store_leaves_the_pool_to_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = ActorPool(max_threads=1, idle_seconds=0.05)
    monkeypatch.setattr(pool, "POOL", one)
    inside, release = threading.Event(), threading.Event()
    waiting = WaitsOnTheStore.start(inside, release)
    other = Recorder.start()
    try:
        held = waiting.ask("held", block=False)
        assert inside.wait(BOUND_S)
        # The pool's one thread waits on the "store": another serves the run queue.
        assert other.ask("served", timeout=BOUND_S) == "served"
        assert one.thread_count() == 2
        release.set()
        assert held.get(timeout=BOUND_S) == "held"
    finally:
        release.set()
        _stopped(waiting)
        _stopped(other)


def test_queued_actors_get_threads_though_one_is_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    four = ActorPool(max_threads=4, idle_seconds=BOUND_S)
    monkeypatch.setattr(pool, "POOL", four)
    warm = Recorder.start()
    assert warm.ask("warm", timeout=BOUND_S) == "warm"  # one thread, idle now
    together = threading.Barrier(4, timeout=BOUND_S)

    class Meets(PooledActor):
        def on_receive(self, message: Any) -> Any:
            together.wait()  # only returns once four handlers run at once
            return message

    refs: list[pykka.ActorRef[Any]] = [Meets.start() for _ in range(4)]
    try:
        futures = [ref.ask(i, block=False) for i, ref in enumerate(refs)]
        assert [f.get(timeout=BOUND_S) for f in futures] == [0, 1, 2, 3]
        assert four.thread_count() == 4
    finally:
        together.abort()
        for ref in [warm, *refs]:
            _stopped(ref)


class Breaks(PooledActor):
    """Fails past pykka's own handling (as a reply that cannot be set would)."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def on_receive(self, message: Any) -> Any:
        if message == "hold":
            assert self.gate.wait(BOUND_S)
        return message

    def _handle_envelope(self, envelope: Any) -> None:
        if envelope.message == "break":
            raise RuntimeError("escaped")
        super()._handle_envelope(envelope)


def test_an_error_escaping_the_handling_fails_the_actor_and_answers_its_askers(
    small_pool: ActorPool,
) -> None:
    gate = threading.Event()
    ref = Breaks.start(gate)
    held = ref.ask("hold", block=False)  # keeps the actor busy while the rest is queued
    broken = ref.ask("break", block=False)
    behind = ref.ask("behind", block=False)
    gate.set()
    assert held.get(timeout=BOUND_S) == "hold"
    for future in (broken, behind):
        with pytest.raises(pykka.ActorDeadError):
            future.get(timeout=BOUND_S)
    assert not ref.is_alive()  # a new activation takes over (the registry starts one)


def test_a_busy_actor_alone_keeps_to_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    four = ActorPool(max_threads=4, idle_seconds=BOUND_S)
    monkeypatch.setattr(pool, "POOL", four)
    ref, actor = _start()
    try:
        futures = [ref.ask(i, block=False) for i in range(5 * pool.SLICE)]
        assert [f.get(timeout=BOUND_S) for f in futures] == list(range(5 * pool.SLICE))
        # Requeued after each slice, it is taken by the thread that ran it: no other starts.
        assert four.thread_count() == 1
        assert len(actor.threads) == 1
    finally:
        _stopped(ref)


def test_idle_threads_leave_at_once_when_shed(monkeypatch: pytest.MonkeyPatch) -> None:
    slow = ActorPool(max_threads=2, idle_seconds=BOUND_S * 10)
    monkeypatch.setattr(pool, "POOL", slow)
    ref = Recorder.start()
    assert ref.ask("hi", timeout=BOUND_S) == "hi"
    _stopped(ref)
    slow.shed_idle()  # what a stopping registry does
    _no_threads_left(slow)
