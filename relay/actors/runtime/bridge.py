"""trio ⇄ pykka: ``await ask(ref, message)`` without ever blocking the trio thread.

A pykka future cannot be awaited under trio, and ``.get()`` would block the
loop. Every relay actor creates its reply futures as ``TrioFuture``: a
``ThreadingFuture`` whose ``set``/``set_exception`` also run a wake-up callback,
which the trio side registers to reschedule the asking task. This covers direct
asks only, not derived futures (``.map``, ``.join``): don't use those across.

An actor may reply with ``Durable(value, commit)``: it has updated its state and
queued the write, and the trio caller waits for the commit itself, so the
actor is free for its next message while the store commits (group commit).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import pykka

from relay.actors.runtime.threads import ACTOR_THREADS, Worker
from relay.crossing import wait_future, wait_until_done
from relay.errors import RelayError, Unavailable

T = TypeVar("T")
R_co = TypeVar("R_co", covariant=True)


class Ask(Generic[R_co]):
    """The base of a message that is asked, not told: ``R_co`` is the type of its reply.

    ``await ask(ref, Heartbeat())`` is then typed as the reply (a ``Durable`` or a
    ``Refusal`` is unwrapped by ``ask``), so no call site casts or annotates it. Messages
    are frozen slotted dataclasses deriving from ``Ask[ReplyType]``.
    """

    __slots__ = ()


class TrioFuture(pykka.ThreadingFuture[T]):
    """A pykka future that can also wake a trio task when it resolves."""

    def __init__(self) -> None:
        super().__init__()
        self._wake_lock = threading.Lock()
        self._resolved = False
        self._wake: Callable[[], None] | None = None
        self.replied = False  # the actor has replied (its commit may still be pending)

    def set(self, value: T | None = None) -> None:
        super().set(value)
        self.replied = True
        if isinstance(value, Durable) and not value.commit.done():
            # The asker needs the reply and its commit: one wake-up of the trio thread
            # once both are in, not one for each (a heartbeat's profile: each costs a
            # run_sync_soon, an Event and a cancel scope on the trio thread).
            # Weakly: the commit keeps its callbacks, and a strong one would close a cycle
            # (commit -> callback -> this future -> reply -> commit) only a GC pass frees.
            this = weakref.ref(self)
            value.commit.add_done_callback(lambda _commit: _fire_if_alive(this))
            return
        self._fire()

    def set_exception(self, exc_info: Any = None) -> None:
        super().set_exception(exc_info)
        self.replied = True
        self._fire()

    def on_done(self, wake: Callable[[], None]) -> None:
        """Run ``wake`` once the future resolves (now, if it already has)."""
        with self._wake_lock:
            if not self._resolved:
                self._wake = wake
                return
        wake()

    def _fire(self) -> None:
        with self._wake_lock:
            self._resolved = True
            wake, self._wake = self._wake, None
        if wake is not None:
            wake()


def _fire_if_alive(future: weakref.ref[TrioFuture[Any]]) -> None:
    alive = future()
    if alive is not None:  # else nobody waits for it any more
        alive._fire()


@dataclass(frozen=True, slots=True)
class Durable(Generic[T]):
    """An actor's reply whose value is acknowledged only once ``commit`` resolves."""

    value: T
    commit: concurrent.futures.Future[Any]


@dataclass(frozen=True, slots=True)
class Refusal:
    """An actor's reply that refuses the request with ``error`` (a 4xx, usually).

    Returned rather than raised: pykka logs an exception raised to an asking caller with
    its traceback, and a refusal is an outcome, not a bug. ``ask`` raises ``error``.
    """

    error: RelayError


@dataclass(frozen=True, slots=True)
class Departed:
    """An actor's reply to a message it did not handle: it has already left the registry
    (stopping), and a newer activation may run. ``ask`` raises it as
    ``pykka.ActorDeadError``, which ``ActorRegistry.ask`` answers by sending the message
    again to the current activation. Returned rather than raised, for the reason a
    ``Refusal`` is: pykka logs what an actor raises to a caller with its traceback."""


async def ask(ref: pykka.ActorRef[Any], message: Ask[T], *, timeout: float, what: str) -> T:
    """Send ``message`` to the actor and await its reply (and its commit, if durable).

    Raises:
        pykka.ActorDeadError: the actor stopped, or was stopping, before handling the message.
        Unavailable: no reply (or no commit) within ``timeout`` seconds.
        RelayError: the actor refused the message (a ``Refusal`` reply).
        Exception: whatever else the actor raised while handling the message.
    """
    future = ref.ask(message, block=False)
    if not isinstance(future, TrioFuture):
        raise TypeError(f"{ref} does not create TrioFutures; derive it from RelayActor")
    try:
        await wait_until_done(future.on_done, timeout=timeout, what=what)
    except Unavailable:
        if not future.replied:
            raise
        # Replied, but its commit is still pending: waited for below, as "store".
    try:
        reply = future.get(timeout=0)
    except pykka.Timeout:  # resolved but not readable: cannot happen, but never block
        raise Unavailable(f"{what} timed out") from None
    if isinstance(reply, Refusal):
        raise reply.error
    if isinstance(reply, Departed):
        raise pykka.ActorDeadError(f"{what} had left the registry")
    if isinstance(reply, Durable):
        await wait_future(reply.commit, timeout=timeout, what="store")
        return cast(T, reply.value)
    return cast(T, reply)


_starting = threading.local()


@contextlib.contextmanager
def deferred_starts() -> Iterator[list[RelayActor]]:
    """Actors started (``start()``) in this block on this thread are created and registered,
    but their threads are left for the caller to start (``run_loop``), out of the lock it
    holds: starting a thread waits until it runs, which on a loaded host takes
    milliseconds that every other user of that lock (the trio thread's) would wait too.
    Messages sent meanwhile wait in the actor's inbox."""
    pending: list[RelayActor] = []
    _starting.pending = pending
    try:
        yield pending
    finally:
        _starting.pending = None


_thread_numbers = itertools.count(1)


class RelayActor(pykka.ThreadingActor):
    """Base of every relay actor: trio-aware futures, daemon threads, each loop run on a
    kept thread (``threads.ACTOR_THREADS``) rather than a new one."""

    use_daemon_thread = True

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        return TrioFuture()

    def _start_actor_loop(self) -> None:
        pending: list[RelayActor] | None = getattr(_starting, "pending", None)
        if pending is None:
            self.run_loop()
        else:
            pending.append(self)

    def run_loop(self, worker: Worker | None = None) -> None:
        """Run the loop of an actor created in ``deferred_starts`` (on ``worker``, a kept
        thread taken for it, if given)."""
        name = f"{type(self).__name__}-{next(_thread_numbers)}"
        ACTOR_THREADS.run(self._actor_loop, name, daemon=self.use_daemon_thread, worker=worker)
