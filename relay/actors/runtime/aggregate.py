"""The base of actors that own one aggregate: dispatch, write-through, passivation."""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from relay.actors.runtime import pool
from relay.actors.runtime.audit import Change, write_with_audit
from relay.actors.runtime.bridge import Departed, Durable, Refusal, RelayActor
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.registry import Passivate
from relay.errors import RelayError, Unavailable

T = TypeVar("T")

log = logging.getLogger("relay.actors")

_FLUSH_TIMEOUT = 10.0
# An activation is started for a message on its way (``ActorRegistry.ask`` starts it, then
# sends): a sweep in between must not stop it, or that message is refused and starts yet
# another activation, which the next sweep can stop the same way. Bounded, so an activation
# whose message never came (its caller was cancelled) is still passivated.
_FIRST_MESSAGE_GRACE = 5.0


class Sweep:
    """Base of a maintenance sweep's message, such as ``Reap``.

    A sweep visits aggregates nobody is using (thousands of silent agents going
    offline): an actor started only to handle one stops right after it, instead of
    keeping a thread until the idle timeout.
    """

    __slots__ = ()


class EarlierWriteFailed(Unavailable):
    """A write refused because one it depends on (``write(after=…)``) failed: it was
    built on state the store never got. A 503: the caller retries on what reloads."""

    def __init__(self) -> None:
        super().__init__("store unavailable")


@dataclass(frozen=True, slots=True)
class Reload:
    """A queued write failed: drop the in-memory state and load it again from the store."""


class AggregateActor(RelayActor):
    """One actor per aggregate key; the only writer of that aggregate.

    Subclasses set ``kind``, implement ``load()`` and ``handle(message)``.
    """

    kind: ClassVar[str]

    def __init__(self, key: str, runtime: Runtime) -> None:
        super().__init__()
        self.key = key
        self.rt = runtime
        self._last_active = time.monotonic()
        self._received = 0  # messages handled since this activation (Passivate aside)
        self._last_write: concurrent.futures.Future[Any] | None = None
        self._unavailable: Unavailable | None = None  # why on_start could not load
        # A write of this activation failed: memory may have run ahead of the store, so
        # nothing is parked nor noted quiet for the next one (it loads).
        self._write_failed = False
        # This activation's number among its key's (``ActorRegistry.generation``), set on
        # start: it may park or note quiet only while still the latest.
        self._generation = 0
        # This activation has left the registry: a newer one may be loading, so it handles
        # nothing more (see ``on_receive``).
        self._departed = False

    # -- hooks for subclasses ---------------------------------------------------------------

    def load(self) -> None:
        """Load this aggregate's state from the store (runs on the actor's thread)."""
        raise NotImplementedError

    def handle(self, message: Any) -> Any:
        raise NotImplementedError

    def route(self, message: Any) -> Any:
        """Hand a message to whatever part of the actor owns it (``handle``, by default)."""
        return self.handle(message)

    def reloaded(self) -> None:
        """The state was loaded again after a failed write: reset what derives from it."""

    def let_go(self) -> None:
        """Drop references that would keep a stopped actor alive (see ``_let_go``)."""

    def is_empty(self) -> bool:
        """True when the aggregate does not exist: such an actor stops right away."""
        return False

    def require_exists(self) -> None:
        """Raise ``NotFound`` when the aggregate does not exist."""

    def parting_state(self) -> Any | None:
        """The state to park when stopping (``ActorRegistry.park``), committed by now; the
        next activation resumes from it instead of loading. None: park nothing. Only for
        aggregates this actor alone writes."""
        return None

    def resume(self, state: Any) -> None:
        """Take a parked ``parting_state`` as this activation's state instead of ``load``."""
        raise NotImplementedError

    def is_quiet(self) -> bool:
        """True when, stopping now, the aggregate holds nothing a read would be handed until
        a message starts it again (``ActorRegistry.mark_quiet``): an empty inbox."""
        return False

    # -- pykka ------------------------------------------------------------------------------

    def on_start(self) -> None:
        self._generation = self.rt.registry.generation(self.kind, self.key)
        parked = self.rt.registry.take_parked(self.kind, self.key)
        if parked is not None:
            self.resume(parked)
            return
        try:
            self.load()
        except Unavailable as exc:
            # The store is down. Dying here would answer the callers already queued with
            # ActorDeadError (and log a traceback); answer them with the reason instead,
            # a 503 they retry, and stop, so the next message starts a fresh activation
            # that loads again.
            self._unavailable = exc
            self._maybe_passivate(0)

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Passivate):
            # Not idle while something waits in the mailbox: stopping now would only send
            # it back to its sender, to start another activation.
            if self.actor_inbox.empty() and not self._awaiting_first_message():
                self._maybe_passivate(message.idle_seconds)
            return None
        if self._unavailable is not None:
            if isinstance(message, Reload | Sweep):
                return None  # tells: nobody to answer, and this activation loaded nothing
            return Refusal(self._unavailable)  # a reply, not a pykka traceback
        if self._departed:
            # Out of the registry, stopping: pykka queued the stop behind what is already
            # in the mailbox, and a newer activation may load from the store meanwhile.
            # Handling more here would change state that one never sees (a delivery handed
            # out twice, a message it cannot find): refuse, and the sender sends it again
            # to the current activation (a plain tell, such as a failed write's Reload,
            # goes unanswered: the next activation loads behind that write anyway).
            return Departed()
        self._last_active = time.monotonic()
        self._received += 1
        if isinstance(message, Reload):
            self._reload()
            return None
        try:
            return self.route(message)
        except RelayError as refused:
            # An expected outcome (404, 409, …) is a reply, not a failure: raised through
            # pykka it is logged with a full traceback. ``ask`` raises it in the caller.
            return Refusal(refused)
        finally:
            # Unknown ids, and aggregates woken only by a sweep, must not leave a thread
            # behind until the next idle sweep.
            if self.is_empty() or (self._received == 1 and isinstance(message, Sweep)):
                self._maybe_passivate(0)

    def on_stop(self) -> None:
        self.rt.registry.forget(self.kind, self.key, self.actor_ref)
        # Quiet only once everything written is committed, from state that was loaded.
        if self._flush() and self._unavailable is None and not self._write_failed:
            if self.is_quiet():
                self.rt.registry.mark_quiet(self.kind, self.key, self._generation)
            state = self.parting_state()
            if state is not None:
                self.rt.registry.park(self.kind, self.key, state, self._generation)
        self._let_go()

    def on_failure(self, *_exc: object) -> None:
        self.rt.registry.forget(self.kind, self.key, self.actor_ref)
        self._flush()
        self._let_go()

    # -- helpers ----------------------------------------------------------------------------

    def _reload(self) -> None:
        try:
            self.load()
        except Unavailable as exc:
            # Memory may be ahead of the store and cannot be reloaded now: stop, and let
            # the next activation load what was committed.
            log.warning("reload_failed kind=%s key=%s error=%r", self.kind, self.key, exc)
            self._maybe_passivate(0)
            return
        # Memory is the store's again: replies no longer wait on the write that failed (else
        # every read would fail with it until the next write succeeds). A later write still
        # queued stays the one replies wait for.
        last = self._last_write
        if last is not None and last.done() and last.exception() is not None:
            self._last_write = None
        self.reloaded()

    def write(
        self,
        job: Callable[[], Awaitable[T]],
        *,
        after: Sequence[concurrent.futures.Future[Any] | None] = (),
    ) -> concurrent.futures.Future[T]:
        """Queue a write of this aggregate, in order; the state is already updated in memory.

        If the write fails the actor reloads, so memory never runs ahead of the store.
        ``after``: writes queued before this one that it depends on; if one of them failed,
        this one fails too (``EarlierWriteFailed``) instead of committing on top of it.
        """
        prior = [f for f in after if f is not None]
        if prior:
            job = _guarded(job, prior)
        future = self.rt.store.submit_write(job)
        ref = self.actor_ref

        def reload_on_failure(done: concurrent.futures.Future[T]) -> None:
            error = done.exception()
            if error is not None:
                self._write_failed = True
                # An outage is expected and logged once by the store, and a refusal (a
                # Conflict the store raised) is an outcome; anything else is a bug.
                level = logging.ERROR
                if isinstance(error, Unavailable):
                    level = logging.WARNING
                elif isinstance(error, RelayError):
                    level = logging.INFO
                log.log(level, "write_failed kind=%s key=%s error=%r", self.kind, self.key, error)
                ref.tell(Reload())

        future.add_done_callback(reload_on_failure)
        self._last_write = future
        return future

    def write_changed(
        self, job: Callable[[], Awaitable[Any]], changes: Sequence[Change]
    ) -> concurrent.futures.Future[Any]:
        """Queue ``job`` and the stream events describing its change as one write.

        They commit in one transaction, so a subscriber never sees a change that was rolled
        back nor misses one that was stored; the events reach subscribers once committed.
        With no ``changes`` this is a plain ``write`` (the heartbeat's hot path).
        """
        if not changes:
            return self.write(job)
        return write_with_audit(self.rt, self.write, job, changes=changes)

    def durable(self, value: T) -> Durable[T] | T:
        """Reply ``value`` once every write this actor queued so far is committed."""
        if self._last_write is None:
            return value
        return Durable(value, self._last_write)

    def read_through_queue(self, job: Callable[[], Awaitable[T]]) -> T:
        """Read behind every queued write (FIFO), so a fresh activation sees its predecessor's.

        It waits for those writes to commit, not for a group commit of its own: on the
        send path a load or a repeat's look-up would otherwise cost two commits.
        """
        return self.rt.store.call(job, after_writes=True)

    def _awaiting_first_message(self) -> bool:
        return self._received == 0 and time.monotonic() - self._last_active < _FIRST_MESSAGE_GRACE

    def _maybe_passivate(self, idle_seconds: float) -> None:
        if time.monotonic() - self._last_active < idle_seconds:
            return
        # Forget first: a message racing this one starts a fresh activation, whose load
        # is queued behind this actor's writes, instead of finding a dead ref forever.
        self.rt.registry.forget(self.kind, self.key, self.actor_ref)
        self._departed = True
        self.stop()

    def _let_go(self) -> None:
        # The queue holds our bound ``write`` and the last write's callbacks hold us: drop
        # both, so a stopped actor is freed by reference counting at once instead of
        # waiting, with its thread's locks and queues, for a full GC pass.
        self.let_go()
        self._last_write = None

    def _flush(self) -> bool:
        """Wait for the last queued write; False if it failed (or did not finish)."""
        if self._last_write is None:
            return True
        try:
            with pool.blocking():
                self._last_write.result(timeout=_FLUSH_TIMEOUT)
        except Exception as exc:  # already logged by reload_on_failure
            log.debug("flush_failed kind=%s key=%s error=%r", self.kind, self.key, exc)
            return False
        return True


def _guarded(
    job: Callable[[], Awaitable[T]], prior: list[concurrent.futures.Future[Any]]
) -> Callable[[], Awaitable[T]]:
    async def guarded() -> T:
        # The writer settles each batch's futures before it runs the next batch (and, when
        # it replays a failed batch job by job, each job's before the next one's): a
        # prior write still pending here is earlier in this very transaction, and commits
        # or fails with it.
        for earlier in prior:
            if earlier.done() and (earlier.cancelled() or earlier.exception() is not None):
                raise EarlierWriteFailed
        return await job()

    return guarded
