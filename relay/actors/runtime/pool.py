"""Actors multiplexed on a few shared threads: ``PooledActor``.

A ``ThreadingActor`` is a thread: each activation takes one (a kept one, or a new one
started and waited for), and each message wakes it. For aggregates with many keys and
short handlers (an agent's inbox, a conversation) that was most of what a message cost
while the active set churned: 1,000 agents each messaged every few seconds kept starting
and parking a thousand threads. A pooled actor's mailbox puts the actor on the pool's run
queue when a message arrives and it is not queued already; a pool thread then runs its
messages in order, a slice at a time, never two at once. An activation is an object, and
the pool's threads stay awake while there is work.

Handlers may block on the store (a load, a flush): a pool thread waits with them, and
says so (``blocking``), so that another thread serves the run queue meanwhile. No handler
waits on another actor, so this cannot deadlock. The threads exit after ``IDLE_SECONDS``
without work, so an idle relay holds none.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import queue
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pykka
from pykka import ActorDeadError
from pykka._envelope import Envelope

from relay.actors.runtime.bridge import RelayActor
from relay.actors.runtime.threads import ACTOR_THREADS, Worker

log = logging.getLogger("relay.actors")

# Threads at most: enough that a handler waiting on the store leaves others to run (the
# store serves one transaction at a time; more threads would only wait there too), few
# enough that runnable ones rarely fight over the GIL: with 2-4 a message cost 10-15 %
# less server CPU than with 8 (send + fetch with ack, 1,000 agents, c=32).
MAX_THREADS = 4
# Kept that long without work: a lull shorter than this starts no thread after it.
IDLE_SECONDS = 10.0
# Threads beyond MAX_THREADS while handlers wait on the store (``blocking``): a burst of
# activations, each loading its state, must not leave the pool with nobody to run.
MAX_WAITING = 16
# Messages one actor handles before the next actor in the run queue gets a thread: a
# busy inbox must not hold a pool thread while others wait.
SLICE = 32


_serving = threading.local()  # ``pool``: the ActorPool this thread serves, if any


class ActorPool:
    """The run queue of pooled actors and the threads serving it."""

    def __init__(
        self,
        max_threads: int = MAX_THREADS,
        idle_seconds: float = IDLE_SECONDS,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._max = max_threads
        self._ceiling = max_threads + max_waiting
        self._idle_seconds = idle_seconds
        # Actors to run; None tells an idle thread to exit (``shed_idle``).
        self._runnable: queue.SimpleQueue[PooledActor | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._waiting = 0  # threads inside ``blocking``
        self._pending = 0  # actors queued and not yet taken by a thread
        self._numbers = iter(range(1, sys.maxsize))

    def submit(self, actor: PooledActor) -> None:
        """Queue ``actor`` to run its mailbox (it is queued at most once at a time)."""
        self.requeue(actor)
        try:
            self._grow()
        except Exception:
            # No thread could be started: the actor is queued all the same, and a thread
            # already running takes it; with none, the caller must hear of it.
            if self.thread_count() == 0:
                raise
            log.warning("actor_pool_grow_failed", exc_info=True)

    def requeue(self, actor: PooledActor) -> None:
        """Queue ``actor`` without growing the pool: from a pool thread whose actor has more
        to do after its slice, which that thread (or an idle one) takes next."""
        with self._lock:
            self._pending += 1  # before the put: the thread taking it counts it down
        self._runnable.put(actor)

    def shed_idle(self) -> None:
        """Let idle threads exit now rather than after ``IDLE_SECONDS`` (a relay stopping):
        each is handed a None, which a thread takes to exit unless work waits."""
        with self._lock:
            idle = self._idle
        for _ in range(idle):
            self._runnable.put(None)

    @contextlib.contextmanager
    def blocking(self) -> Iterator[None]:
        """Around a wait on the store: while this pool thread waits, one more may serve."""
        if getattr(_serving, "pool", None) is not self:
            yield  # not one of ours (a threaded actor, a test): nothing to make up for
            return
        with self._lock:
            self._waiting += 1
        try:
            self._grow()
            yield
        finally:
            with self._lock:
                self._waiting -= 1

    def thread_count(self) -> int:
        with self._lock:
            return self._threads

    def _grow(self) -> None:
        """Start a thread if more actors are queued than idle threads will take, unless
        enough run (those waiting on the store not counted)."""
        with self._lock:
            running = self._threads - self._waiting
            if self._pending <= self._idle or running >= self._max:
                return
            if self._threads >= self._ceiling:
                return
            self._threads += 1
            name = f"relay-actor-pool-{next(self._numbers)}"
        try:
            threading.Thread(target=self._serve, name=name, daemon=True).start()
        except BaseException:
            with self._lock:
                self._threads -= 1
            raise

    def _serve(self) -> None:
        _serving.pool = self
        while True:
            with self._lock:
                self._idle += 1
            try:
                actor = self._runnable.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    # Work queued as the wait ran out was counted on this thread: stay.
                    if self._pending == 0:
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._idle -= 1
                if actor is None:
                    if self._pending == 0:
                        self._threads -= 1
                        return
                    continue  # work came meanwhile: stay for it
                self._pending -= 1
            try:
                actor.run_slice()
            except BaseException:  # never lose a pool thread quietly
                log.exception("actor_pool_slice_failed actor=%s", actor)
            actor = None  # a stopped actor is freed at once


POOL = ActorPool()


def blocking() -> contextlib.AbstractContextManager[None]:
    """``POOL.blocking()``. ``StoreThread.call`` enters it (the runtime passes it in); wrap
    any other wait of a pooled handler on the store (a write's future) in it."""
    return POOL.blocking()


class Mailbox:
    """A pooled actor's inbox (pykka's ``ActorInbox``): queuing a message queues the actor
    on the pool unless it is queued or running already."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: collections.deque[Envelope[Any]] = collections.deque()
        self._owner: PooledActor | None = None  # set once its loop starts
        self._queued = False  # on the run queue or running: a put must not queue it again
        self._closed = False

    def put(self, envelope: Envelope[Any]) -> None:
        with self._lock:
            closed = self._closed
            owner = None
            if not closed:
                self._items.append(envelope)
                if self._owner is not None and not self._queued:
                    owner, self._queued = self._owner, True
        if closed:
            # Stopped and torn down: nothing would ever answer it (pykka's thread leaves it
            # in a queue nobody reads; the asker would wait out its timeout).
            _refuse(envelope, owner_text="a stopped actor")
        elif owner is not None:
            POOL.submit(owner)

    def get(self, block: bool = True, timeout: float | None = None) -> Envelope[Any]:
        """The next message; only ever called with one there (``empty`` said so)."""
        with self._lock:
            return self._items.popleft()

    def empty(self) -> bool:
        with self._lock:
            return not self._items

    def start(self, owner: PooledActor) -> None:
        """The actor's loop starts: queue it to run ``on_start`` and what is waiting."""
        with self._lock:
            self._owner = owner
            self._queued = True
        POOL.submit(owner)

    def next_or_release(self) -> Envelope[Any] | None:
        """The next message, or None with the actor off the run queue (a put queues it)."""
        with self._lock:
            if self._items:
                return self._items.popleft()
            self._queued = False
            return None

    def close(self) -> list[Envelope[Any]]:
        """No more messages: those waiting are returned, later ones are refused at once."""
        with self._lock:
            self._closed = True
            self._owner = None
            items, self._items = list(self._items), collections.deque()
            return items


def _refuse(envelope: Envelope[Any], *, owner_text: str) -> None:
    if envelope.reply_to is None:
        return
    if isinstance(envelope.message, pykka.messages._ActorStop):
        envelope.reply_to.set(None)
        return
    error = ActorDeadError(f"{owner_text} stopped before handling the message")
    envelope.reply_to.set_exception(exc_info=(ActorDeadError, error, None))


class PooledActor(RelayActor):
    """A ``RelayActor`` whose messages run on ``POOL``'s threads instead of a thread of its
    own: same messages, same order, one at a time (pykka's loop, a slice per turn)."""

    actor_inbox: Mailbox

    def _create_actor_inbox(self) -> Mailbox:  # type: ignore[override]
        return Mailbox()

    def run_loop(self, worker: Worker | None = None) -> None:
        """Queue the actor to run ``on_start`` and what waits. Called as a threaded actor's
        loop is started (by ``ActorRegistry.ref`` out of its lock): queuing it may start a
        pool thread, which waits until that thread runs."""
        if worker is not None:
            ACTOR_THREADS.release(worker)  # not needed: the pool runs this actor
        self._set_up = False
        self._in_hand: Envelope[Any] | None = None  # the message being handled
        self.actor_inbox.start(self)

    def run_slice(self) -> None:
        """Run on a pool thread: ``on_start`` first, then up to ``SLICE`` messages; queued
        again if more wait, torn down once stopped. Anything escaping pykka's own handling
        (a reply that cannot be set) fails the actor, as it would end its thread: left
        queued, it would never be run again and every ask would wait out its timeout."""
        try:
            self._run_slice()
        except Exception:
            self._handle_failure(*sys.exc_info())
            try:
                self.on_failure(*sys.exc_info())  # as pykka's loop does: forget, flush, free
            except Exception:
                log.exception("on_failure_failed actor=%s", self)
            in_hand, self._in_hand = self._in_hand, None
            if in_hand is not None:
                with contextlib.suppress(queue.Full):  # its reply was set after all
                    _refuse(in_hand, owner_text=str(self.actor_ref))
            self._tear_down()

    def _run_slice(self) -> None:
        if not self._set_up:
            self._set_up = True
            if not self.actor_stopped.is_set():  # stopped before it ran (a failed start)
                self._actor_loop_setup()
        for _ in range(SLICE):
            if self.actor_stopped.is_set():
                break
            envelope = self.actor_inbox.next_or_release()
            if envelope is None:
                return
            self._in_hand = envelope
            self._handle_envelope(envelope)
            self._in_hand = None
        if self.actor_stopped.is_set():
            self._tear_down()
            return
        POOL.requeue(self)  # still queued (``_queued``): more may wait

    def _tear_down(self) -> None:
        for envelope in self.actor_inbox.close():
            _refuse(envelope, owner_text=str(self.actor_ref))

    def _handle_envelope(self, envelope: Envelope[Any]) -> None:
        # pykka's ``_actor_loop_running`` body, for one message.
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                log.info("Exception returned from %s to caller:", self, exc_info=True)
                envelope.reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:
                    self._handle_failure(*sys.exc_info())
        except BaseException:
            log.debug("%r in %s. Stopping all actors.", sys.exc_info()[1], self)
            self._stop()
            pykka.ActorRegistry.stop_all()
