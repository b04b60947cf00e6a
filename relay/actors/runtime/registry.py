"""Actors on demand: activated by their first message, passivated when idle.

A ``ThreadingActor`` is one thread and a ``PooledActor`` holds its state in memory,
so live actors must follow the *active* set, not every agent ever registered. State
lives in the store; an actor loads it on start, so stopping an idle actor loses nothing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pykka
import trio

from relay.actors.runtime import pool
from relay.actors.runtime.bridge import Ask, Departed, TrioFuture, ask, deferred_starts
from relay.actors.runtime.threads import ACTOR_THREADS, Worker
from relay.errors import Unavailable

log = logging.getLogger("relay.actors")

T = TypeVar("T")
Key = tuple[str, str]
Factory = Callable[[str], pykka.ActorRef[Any]]

_ACTIVATION_ATTEMPTS = 3
# Parked states kept at most (the oldest are dropped: their next activation loads).
PARKED_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Passivate:
    """Stop if nothing but this message arrived for ``idle_seconds``."""

    idle_seconds: float


class ActorRegistry:
    def __init__(
        self, *, ask_timeout: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.ask_timeout = ask_timeout
        self._monotonic = monotonic
        ACTOR_THREADS.reopen()
        self._factories: dict[str, Factory] = {}
        # Kinds whose actors run on the shared pool (``pool.PooledActor``): starting one
        # takes no kept thread and starts none of its own (only a growing pool starts
        # one), so it is started right on the asking thread.
        self._pooled: set[str] = set()
        self._refs: dict[Key, pykka.ActorRef[Any]] = {}
        # When each key was last sent a message through here: the idle sweep then tells
        # only actors that may be idle, instead of waking every live thread.
        self._last_used: dict[Key, float] = {}
        # Aggregates whose last activation stopped with nothing to hand out (``mark_quiet``):
        # a read that would only find that out may answer from here instead of starting a
        # thread and loading from the store. Any new activation forgets the note first.
        self._quiet: set[Key] = set()
        # States stopping actors left for their next activation (``park``), and the one a
        # starting activation is to take (``take_parked``): it skips loading from the store.
        self._parked: OrderedDict[Key, Any] = OrderedDict()
        self._handoff: dict[Key, Any] = {}
        # How many activations each key has had: a stopping activation may park or note
        # quiet only while it is still the latest one (``generation``), not after a newer
        # activation came and went, whose state it does not know. One int per key ever
        # activated in this process.
        self._generations: dict[Key, int] = {}
        self._lock = threading.Lock()
        self._closed = False

    def register_kind(self, kind: str, factory: Factory, *, pooled: bool = False) -> None:
        """``factory(key)`` starts the actor of ``key``; ``pooled``: a ``PooledActor``."""
        self._factories[kind] = factory
        if pooled:
            self._pooled.add(kind)

    def ref(self, kind: str, key: str, worker: Worker | None = None) -> pykka.ActorRef[Any]:
        """The live actor for ``(kind, key)``, started if there is none (on ``worker``, a
        kept thread taken for it, if given; released if nothing starts)."""
        with deferred_starts() as starting:
            try:
                ref = self._ref_locked(kind, key)
            except BaseException:
                if worker is not None:
                    ACTOR_THREADS.release(worker)
                raise
        try:
            for actor in starting:
                actor.run_loop(worker)
                worker = None
        except BaseException:
            # No thread: nothing would ever answer what is sent to it.
            self.forget(kind, key, ref)
            ref.actor_stopped.set()
            pykka.ActorRegistry.unregister(ref)
            raise
        finally:
            if worker is not None:
                ACTOR_THREADS.release(worker)
        return ref

    def _ref_locked(self, kind: str, key: str) -> pykka.ActorRef[Any]:
        with self._lock:
            if self._closed:
                raise Unavailable(f"{kind} actor is stopping")
            ref = self._refs.get((kind, key))
            if ref is None or not ref.is_alive():
                self._quiet.discard((kind, key))
                parked = self._parked.pop((kind, key), None)
                if parked is None:
                    self._handoff.pop((kind, key), None)
                else:
                    self._handoff[(kind, key)] = parked
                self._generations[(kind, key)] = self._generations.get((kind, key), 0) + 1
                ref = self._factories[kind](key)
                self._refs[(kind, key)] = ref
            self._last_used[(kind, key)] = self._monotonic()
            return ref

    def live_ref(self, kind: str, key: str) -> pykka.ActorRef[Any] | None:
        """The live actor for ``(kind, key)``, or None: starts nothing."""
        with self._lock:
            ref = self._refs.get((kind, key))
            if ref is not None and ref.is_alive():
                self._last_used[(kind, key)] = self._monotonic()
                return ref
            return None

    def generation(self, kind: str, key: str) -> int:
        """The latest activation's number for ``(kind, key)``: a starting actor's own (it
        runs ``on_start`` once ``ref`` has registered it, behind this lock)."""
        with self._lock:
            return self._generations.get((kind, key), 0)

    def _speaks_for(self, kind: str, key: str, generation: int) -> bool:
        # Only the latest activation, once stopped, knows the aggregate's state: not while a
        # newer one runs, nor after a newer one ran (even if it has stopped since).
        return (kind, key) not in self._refs and self._generations.get((kind, key), 0) == generation

    def mark_quiet(self, kind: str, key: str, generation: int) -> None:
        """A stopping actor's note that its aggregate holds nothing a read would return
        until its next activation. Ignored unless ``generation`` is the latest activation,
        stopped: only the last one to stop may speak for the aggregate."""
        with self._lock:
            if self._speaks_for(kind, key, generation):
                self._quiet.add((kind, key))

    def park(self, kind: str, key: str, state: Any, generation: int) -> None:
        """A stopping actor's committed state, for its next activation to resume from
        instead of loading. Ignored unless ``generation`` is the latest activation, stopped
        (a newer one loaded, or will, behind this one's writes)."""
        with self._lock:
            if not self._speaks_for(kind, key, generation):
                return
            self._parked[(kind, key)] = state
            self._parked.move_to_end((kind, key))
            while len(self._parked) > PARKED_LIMIT:
                self._parked.popitem(last=False)

    def is_parked(self, kind: str, key: str) -> bool:
        with self._lock:
            return (kind, key) in self._parked

    def take_parked(self, kind: str, key: str) -> Any | None:
        """For a starting activation: the state parked for it when it was started, once."""
        with self._lock:
            return self._handoff.pop((kind, key), None)

    def is_quiet(self, kind: str, key: str) -> bool:
        """Whether ``mark_quiet`` holds: no activation since the one that left the note."""
        with self._lock:
            return (kind, key) in self._quiet

    def forget(self, kind: str, key: str, ref: pykka.ActorRef[Any]) -> None:
        """Drop ``ref`` if it is still the registered one (called by a stopping actor)."""
        with self._lock:
            if self._refs.get((kind, key)) is ref:
                del self._refs[(kind, key)]
                self._last_used.pop((kind, key), None)

    async def ask(self, kind: str, key: str, message: Ask[T], *, timeout: float | None = None) -> T:
        """Ask the actor for ``(kind, key)``; a passivated actor is transparently re-activated.

        A message that found its actor stopping was not handled (pykka fails it with
        ``ActorDeadError``, an activation already out of the registry replies ``Departed``,
        which ``ask`` raises as one), so sending it again to the current activation, or a
        fresh one, is safe.
        """
        wait = timeout if timeout is not None else self.ask_timeout
        for _ in range(_ACTIVATION_ATTEMPTS):
            ref = self.live_ref(kind, key)
            if ref is None and kind in self._pooled:
                ref = self.ref(kind, key)
            elif ref is None:
                worker = ACTOR_THREADS.take()
                if worker is not None:
                    # A kept thread is handed its loop without waiting: no thread starts.
                    ref = self.ref(kind, key, worker)
                else:
                    # Starting a thread waits until it runs: not on the trio thread, which
                    # every request shares (a loaded host makes it ms).
                    ref = await trio.to_thread.run_sync(self.ref, kind, key)
            try:
                return await ask(ref, message, timeout=wait, what=f"{kind} actor")
            except pykka.ActorDeadError:
                self.forget(kind, key, ref)
        raise Unavailable(f"{kind} actor timed out")

    def tell(self, kind: str, key: str, message: object, *, attempt: int = 1) -> None:
        """Fire and forget to the live actor, starting it if needed.

        Sent as an ask nobody waits for: an activation that has left the registry refuses
        it (``Departed``) rather than handling it beside its successor, and the reply's
        callback sends it again to the current activation.
        """
        try:
            future = self.ref(kind, key).ask(message, block=False)
        except pykka.ActorDeadError:
            future = None
        if not isinstance(future, TrioFuture):
            log.info("actor_tell_dropped kind=%s key=%s", kind, key)
            return

        def resend_if_refused() -> None:
            try:
                reply = future.get(timeout=0)
            except pykka.ActorDeadError:
                reply = Departed()
            except Exception as exc:  # a failure nobody waits to hear of: say it here
                log.error("actor_tell_failed kind=%s key=%s error=%r", kind, key, exc)
                return
            if not isinstance(reply, Departed):
                return
            if attempt >= _ACTIVATION_ATTEMPTS:
                log.info("actor_tell_dropped kind=%s key=%s", kind, key)
                return
            with contextlib.suppress(Unavailable):  # stopping: nothing to send it to
                self.tell(kind, key, message, attempt=attempt + 1)

        future.on_done(resend_if_refused)

    def idle_refs(self, idle_seconds: float) -> list[pykka.ActorRef[Any]]:
        """Live actors sent nothing through this registry for ``idle_seconds``.

        Only candidates: an actor also hears from others (settle hooks, its own timers),
        so it decides for itself when it receives ``Passivate``.
        """
        cutoff = self._monotonic() - idle_seconds
        with self._lock:
            return [
                ref for key, ref in self._refs.items() if self._last_used.get(key, 0.0) <= cutoff
            ]

    def passivate_idle(self, idle_seconds: float) -> int:
        """Ask every idle candidate to stop; returns how many were asked."""
        refs = self.idle_refs(idle_seconds)
        for ref in refs:
            passivate(ref, idle_seconds)
        return len(refs)

    def live_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(Counter(kind for kind, _ in self._refs))

    def is_live(self, kind: str, key: str) -> bool:
        with self._lock:
            ref = self._refs.get((kind, key))
        return ref is not None and ref.is_alive()

    def stop_all(self, timeout: float = 10.0) -> None:
        """Stop every actor (each flushes what it holds in ``on_stop``). Blocks."""
        with self._lock:
            self._closed = True
            self._parked.clear()
            self._handoff.clear()
            refs = list(self._refs.values())
            self._refs.clear()
            self._last_used.clear()
        futures = []
        for ref in refs:
            try:
                futures.append(ref.stop(block=False))
            except pykka.ActorDeadError:
                continue
        # One deadline for all: pooled actors stop a few at a time, each flushing its last
        # write, so a hung store must not cost ``timeout`` per actor.
        deadline = time.monotonic() + timeout
        for future in futures:
            try:
                future.get(timeout=max(deadline - time.monotonic(), 0.0))
            except (pykka.Timeout, pykka.ActorDeadError):
                log.warning("actor_stop_timeout")
        # No thread is kept for actors any more: a stopped relay leaves none behind.
        ACTOR_THREADS.close()
        pool.POOL.shed_idle()


def passivate(ref: pykka.ActorRef[Any], idle_seconds: float) -> None:
    """Tell ``ref`` to stop if it has been idle for ``idle_seconds`` (it may be gone)."""
    with contextlib.suppress(pykka.ActorDeadError):
        ref.tell(Passivate(idle_seconds))
