"""The live event stream: publishing (from any thread) and live subscriptions (on trio).

``publish`` is thread-safe, non-blocking and never raises into its caller. It queues
the append of the event to the stream log on the store's ordered writer, so an event
published right after an actor queued its state write is stored after that write;
once the append is committed the stored event (its database id is the SSE id) is
handed to the trio thread and offered to every live subscriber, in id order
(gathered over a short batch window, so a burst wakes each subscriber once).

A subscriber is one SSE client with a bounded buffer. Offering never waits: a
client whose buffer is full is dropped (its stream ends after what it has already
buffered, and the client reconnects with ``Last-Event-ID``), so a slow client can
neither grow memory nor stall the publisher or the other clients.

Two kinds of frame carry no SSE id (``Ephemeral``): they are never stored, never
replayed and do not move a client's Last-Event-ID.

- ``presence``: heartbeats that change no status only touch an in-memory board
  (``PresenceBoard``, a dict assignment per beat); once per window (1 s) the hub sends
  each stream the ids whose time moved in that window that its filter admits, encoded
  once per distinct filter. A client with a full buffer misses that window's frame
  rather than being dropped for it: presence is a hint, its REST reads are the truth.
- ``signed-out``: the last frame of a stream whose token was revoked (``token_revoked``,
  called by the revoke path) or expired (``stream_frames`` watches ``exp``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import math
import threading
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

import trio

from relay.clock import Clock, SystemClock
from relay.errors import Unavailable
from relay.event_frames import encode_ephemeral, encode_frame
from relay.store import stream as stream_store
from relay.store.stream import StreamEvent
from relay.store.thread import StoreThread
from relay.stream_timer import StreamTimer

__all__ = [
    "EVENT_NAMES",
    "PRESENCE_WINDOW_SECONDS",
    "Batch",
    "Delivery",
    "Ephemeral",
    "EventHub",
    "HubStats",
    "PresenceBoard",
    "StreamCredential",
    "StreamEvent",
    "StreamFilter",
    "Subscription",
    "encode_frame",
]

log = logging.getLogger("relay.events")

T = TypeVar("T")
Job = Callable[[], Awaitable[T]]

EVENT_NAMES = (
    "activity",
    "agent",
    "orchestrator",
    "command",
    "workspace",
    "lease",
    "config-changed",
    "channel",
    "message",
    "delivery",
    "task",
    "pair",
    "integration",
    "automation",
    "memory",
)

PRESENCE_WINDOW_SECONDS = 1.0
# Each batch window costs one write per client, and a write through hypercorn's send path
# costs tens of microseconds of the trio thread whatever its size (py-spy: 45 % of the
# server with 500 streams at 25 ms windows). With many clients the window is stretched so
# that the writes stay under this many a second (500 clients: 50 ms, 2,000: 200 ms).
FAN_OUT_WRITES_PER_SECOND = 10_000
# The view orchestrator events are published with: presence of orchestrators follows it.
ORCHESTRATOR_VIEW = "orchestrators"


class EventGuard(Protocol):
    """A per-subscriber rule on an event's content (hashable: filters are dict keys)."""

    def admits(self, event: StreamEvent) -> bool: ...


@dataclass(frozen=True, slots=True)
class StreamFilter:
    """Which events a subscriber sees; a ``None`` field does not filter.

    ``view``: only events published with exactly this view. ``agent_id``: only events
    of exactly this agent. ``agents``: a token's agent constraint, only events of one
    of these agents (events tied to no agent are withheld). ``hidden_views``: events
    of these views are withheld (security audits from callers without ``token:admin``).
    ``guard``: what the subscriber may read of an event's content (a ``memory`` event
    only if the memory visibility rules let it see that memory), live and on replay.
    """

    view: str | None = None
    agent_id: str | None = None
    agents: frozenset[str] | None = None
    hidden_views: frozenset[str] = frozenset()
    guard: EventGuard | None = None

    def passes(self, event: StreamEvent) -> bool:
        if not self.admits(event.view, event.agent_id):
            return False
        return self.guard is None or self.guard.admits(event)

    def admits(self, view: str | None, agent_id: str | None) -> bool:
        """Whether an event published with this view and agent passes."""
        if self.view is not None and view != self.view:
            return False
        if view is not None and view in self.hidden_views:
            return False
        if self.agent_id is not None and agent_id != self.agent_id:
            return False
        return self.agents is None or agent_id in self.agents

    def presence(
        self, agents: dict[str, int], orchestrators: dict[str, int]
    ) -> dict[str, dict[str, int]]:
        """The part of a presence window this filter admits, filtered like the ``agent``
        and ``orchestrator`` events it stands for."""
        seen: dict[str, int]
        if self.view is not None:
            seen = {}  # agent events carry no view
        elif self.agent_id is not None or self.agents is not None:
            wanted = {self.agent_id} if self.agent_id is not None else self.agents or ()
            seen = {a: agents[a] for a in wanted if a in agents and self.admits(None, a)}
        else:
            seen = agents  # shared, not copied: the window is not changed after it is sent
        return {
            "agents": seen,
            "orchestrators": orchestrators if self.admits(ORCHESTRATOR_VIEW, None) else {},
        }


@dataclass(frozen=True, slots=True)
class StreamCredential:
    """The token a stream was opened with: it ends when ``jti`` is revoked or at ``exp``."""

    jti: str
    expires_at_ms: int


@dataclass(frozen=True, slots=True)
class Ephemeral:
    """A frame with no SSE id (``presence``, ``signed-out``)."""

    frame: bytes


SIGNED_OUT_REVOKED = Ephemeral(encode_ephemeral("signed-out", {"reason": "token revoked"}))
SIGNED_OUT_EXPIRED = Ephemeral(encode_ephemeral("signed-out", {"reason": "token expired"}))


@dataclass(frozen=True, slots=True)
class Delivery:
    """A committed event and its frame, encoded once and shared by every subscriber."""

    event: StreamEvent
    frame: bytes


@dataclass
class HubStats:
    """Counters for ``/metrics``; touched on the trio thread only."""

    published: Counter[str] = field(default_factory=Counter)
    frames_sent: int = 0
    dropped: int = 0
    presence_windows: int = 0
    presence_encodings: int = 0
    presence_skipped: int = 0  # a full buffer: that client missed one window


@dataclass(frozen=True, slots=True)
class Batch:
    """The committed events of one batch window that one filter admits, in id order, and
    their frames joined once: every subscriber with that filter is handed the same bytes."""

    deliveries: tuple[Delivery, ...]
    chunk: bytes

    @classmethod
    def of(cls, deliveries: Sequence[Delivery]) -> Batch:
        return cls(tuple(deliveries), b"".join(d.frame for d in deliveries))

    @property
    def first_id(self) -> int:
        return self.deliveries[0].event.id

    @property
    def last_id(self) -> int:
        return self.deliveries[-1].event.id

    def __len__(self) -> int:
        return len(self.deliveries)

    def split(self, count: int) -> tuple[Batch, Batch]:
        """The first ``count`` events and the rest (0 < count < len)."""
        return Batch.of(self.deliveries[:count]), Batch.of(self.deliveries[count:])


Item = Batch | Ephemeral


class Subscription:
    """One live client's bounded buffer. Trio thread only.

    ``buffer`` bounds the events (and id-less frames) waiting: the hub hands over one
    ``Batch`` per window, and a batch that does not fit is cut where the buffer is full,
    that part is kept and the client is dropped, as if offered one event at a time.
    """

    def __init__(
        self,
        stream_filter: StreamFilter,
        buffer: int,
        start_id: int,
        *,
        timer: StreamTimer | None = None,
    ) -> None:
        self.filter = stream_filter
        # The newest id the hub had seen committed when this subscription began.
        self.start_id = start_id
        # Sent after everything buffered, when the hub ends the stream (token revoked).
        self.last_frame: Ephemeral | None = None
        self._capacity = buffer
        self._items: deque[Item] = deque()
        self._count = 0  # events and id-less frames in ``_items``
        self._closed = False
        # The one task waiting in ``receive``: woken by a direct reschedule, which costs a
        # fraction of a ParkingLot's park and unpark (once per client per batch window).
        self._waiter: trio.lowlevel.Task | None = None
        # When a wait of ``receive_chunks`` ends with nothing (trio time); the timer wakes it.
        self.deadline = math.inf
        self._timer = timer or StreamTimer()

    @property
    def buffered(self) -> int:
        return self._count

    async def _ready(self, deadline: float = math.inf) -> bool:
        """Wait until something is buffered (True) or trio's clock reaches ``deadline``
        (False); EndOfChannel once closed and emptied."""
        if self._items:
            await trio.lowlevel.checkpoint()
            return True
        self.deadline = deadline
        while not self._items:
            if self._closed:
                raise trio.EndOfChannel
            if trio.current_time() >= deadline:
                await trio.lowlevel.checkpoint()
                return False
            self._timer.watch(self)
            await self._park()
        return True

    async def _park(self) -> None:
        if self._waiter is not None:
            raise trio.BusyResourceError("another task is receiving from this subscription")
        self._waiter = trio.lowlevel.current_task()
        await trio.lowlevel.wait_task_rescheduled(self._abort)

    def _abort(self, _raise_cancel: object) -> trio.lowlevel.Abort:
        self._waiter = None  # cancelled while parked
        return trio.lowlevel.Abort.SUCCEEDED

    def wake(self) -> None:
        """Let the waiting ``receive`` look again (something came, the subscription
        closed, or its ``deadline`` passed: the timer's call)."""
        task, self._waiter = self._waiter, None
        if task is not None:
            trio.lowlevel.reschedule(task)

    async def receive(self, max_items: int) -> list[Delivery | Ephemeral]:
        """Wait for the next deliveries (all that are buffered, up to ``max_items``).

        Raises:
            trio.EndOfChannel: the subscription was closed (dropped, or the hub
                stopped) and everything it had buffered was received.
        """
        await self._ready()
        return self.drain(max_items)

    async def receive_chunks(self, max_events: int, deadline: float = math.inf) -> list[Item]:
        """Like ``receive`` but whole: the buffered batches and frames, as handed over, up
        to about ``max_events`` events (at least one item); an empty list if nothing came
        before trio's clock reached ``deadline``.

        A deadline costs no cancel scope: the subscription's timer wakes the wait.
        """
        if not await self._ready(deadline):
            return []
        taken: list[Item] = []
        events = 0
        while self._items and (not taken or events + _size(self._items[0]) <= max_events):
            item = self._items.popleft()
            events += _size(item)
            taken.append(item)
        self._count -= events
        return taken

    def drain(self, max_items: int) -> list[Delivery | Ephemeral]:
        """What is buffered right now, up to ``max_items``, without waiting."""
        taken: list[Delivery | Ephemeral] = []
        while self._items and len(taken) < max_items:
            item = self._items.popleft()
            if isinstance(item, Ephemeral):
                taken.append(item)
                self._count -= 1
                continue
            room = max_items - len(taken)
            if len(item) > room:
                item, rest = item.split(room)
                self._items.appendleft(rest)
            taken.extend(item.deliveries)
            self._count -= len(item)
        return taken

    def offer(self, item: Delivery | Item) -> bool:
        """Buffer ``item`` without waiting; False when the buffer is full (then the part
        of a batch that fitted is buffered)."""
        if self._closed:
            return True  # the stream is ending
        batch = Batch((item,), item.frame) if isinstance(item, Delivery) else item
        room = self._capacity - self._count
        size = _size(batch)
        if size > room:
            if room <= 0 or isinstance(batch, Ephemeral):
                return False
            batch, _rest = batch.split(room)
            self._append(batch, room)
            return False
        self._append(batch, size)
        return True

    def _append(self, item: Item, size: int) -> None:
        self._items.append(item)
        self._count += size
        if self._waiter is not None:
            self.wake()

    def close(self) -> None:
        self._closed = True
        self._timer.forget(self)
        self.wake()

    def end(self, last_frame: Ephemeral) -> None:
        """End the stream after what it has buffered, with ``last_frame``."""
        if self.last_frame is None:
            self.last_frame = last_frame
        self.close()


def _size(item: Item) -> int:
    return 1 if isinstance(item, Ephemeral) else len(item)


class PresenceBoard:
    """Heartbeat times that moved in the current window, waiting to go to the streams.

    ``agent_seen`` and ``orchestrator_seen`` are called by the heartbeat handlers (actor
    threads): a dict assignment under a lock, and once per window a call onto the trio
    thread, which sends the window ``PRESENCE_WINDOW_SECONDS`` later. Nothing is stored.
    """

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self._lock = threading.Lock()
        self._agents: dict[str, int] = {}
        self._orchestrators: dict[str, int] = {}
        self._scheduled = False
        self.window_seconds = PRESENCE_WINDOW_SECONDS

    def agent_seen(self, agent_id: str, at_ms: int) -> None:
        self._touch(self._agents, agent_id, at_ms)

    def orchestrator_seen(self, orchestrator_id: str, at_ms: int) -> None:
        self._touch(self._orchestrators, orchestrator_id, at_ms)

    def _touch(self, moved: dict[str, int], key: str, at_ms: int) -> None:
        with self._lock:
            moved[key] = at_ms
            if self._scheduled:
                return
            token = self._hub.trio_token
            if token is None:
                moved.clear()  # not started (or stopped): nobody to tell
                return
            self._scheduled = True
        try:
            token.run_sync_soon(self._open_window)
        except trio.RunFinishedError:
            with self._lock:
                self._scheduled = False

    def _open_window(self) -> None:
        # A trio callback, and a system task: anything they raised would end the whole run.
        try:
            if self._hub.trio_token is None:
                raise RuntimeError("the hub stopped")
            trio.lowlevel.spawn_system_task(self._close_window, name="relay.events.presence")
        except RuntimeError:  # stopped, or the run is ending ("closed to new arrivals")
            with self._lock:
                self._agents.clear()
                self._orchestrators.clear()
                self._scheduled = False

    async def _close_window(self) -> None:
        try:
            await trio.sleep(self.window_seconds)
        finally:  # also when the run ends first: the next run's beats open a window again
            with self._lock:
                agents, self._agents = self._agents, {}
                orchestrators, self._orchestrators = self._orchestrators, {}
                self._scheduled = False
        try:
            self._hub.send_presence(agents, orchestrators)
        except Exception:
            log.exception("sse_presence_failed")


class EventHub:
    """Publishes events to the stream log and fans committed ones out to subscribers."""

    def __init__(self) -> None:
        self.stats = HubStats()
        # Reentrant: a write that already committed runs its callback at once, under the lock.
        self._lock = threading.RLock()
        self._store: StoreThread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._clock: Clock = SystemClock()
        # Appends in the order they were queued on the writer (which commits in that
        # order): fan-out takes committed ones from the head only, so ids stay ordered
        # even when a commit's callback runs on the publisher's thread.
        self._pending: deque[concurrent.futures.Future[list[StreamEvent]]] = deque()
        self._subscribers: set[Subscription] = set()  # trio thread only
        # The same subscribers by filter: a window's events are filtered once per filter
        # (most streams share one), not once per client. Trio thread only.
        self._groups: dict[StreamFilter, set[Subscription]] = {}
        self._batch_window = 0.0
        self._writes_per_second: float = FAN_OUT_WRITES_PER_SECOND
        self._outbox: list[StreamEvent] = []  # committed, waiting for the window to close
        self._flush_scheduled = False
        self._last_committed_id = 0
        self._streams_ended = False  # trio thread only
        self.presence = PresenceBoard(self)
        # jti → what to call when it is revoked (the streams opened with it). Trio thread only.
        self._watchers: dict[str, set[Callable[[], None]]] = {}
        # Wakes the streams' waits at their keep-alive or exp. Trio thread only.
        self._timer = StreamTimer()

    # -- life cycle (trio thread) -----------------------------------------------------------

    def start(
        self,
        store: StoreThread,
        trio_token: trio.lowlevel.TrioToken,
        *,
        clock: Clock | None = None,
        batch_window: float = 0.0,
        writes_per_second: float = FAN_OUT_WRITES_PER_SECOND,
    ) -> None:
        """Start storing and fanning out events (call once the store is running).

        ``batch_window``: committed events are handed to subscribers at most this often
        (seconds), so a burst reaches each client as one write; 0 hands each commit over
        at once. With more than ``writes_per_second x batch_window`` clients the window
        is stretched to keep the writes under ``writes_per_second`` (``window``).
        """
        with self._lock:
            self._store = store
            self._token = trio_token
            if clock is not None:
                self._clock = clock
            self._batch_window = batch_window
        self._writes_per_second = writes_per_second

    def stop(self) -> None:
        """Stop publishing; every open subscription ends after what it has buffered."""
        with self._lock:
            self._store = None
            self._token = None
            self._pending.clear()
        self._outbox = []
        self.end_streams()

    def end_streams(self) -> None:
        """End every open subscription, and refuse new ones, while events are still stored.

        The relay is stopping: its SSE responses end cleanly (clients reconnect with their
        Last-Event-ID) instead of holding the HTTP server's graceful shutdown open.
        """
        self._streams_ended = True
        for subscription in self._subscribers:
            subscription.close()
        self._subscribers.clear()
        self._groups.clear()

    @property
    def client_count(self) -> int:
        return len(self._subscribers)

    @property
    def trio_token(self) -> trio.lowlevel.TrioToken | None:
        return self._token

    # -- tokens of open streams -----------------------------------------------------------------

    def token_revoked(self, jti: str) -> None:
        """End, promptly, every stream opened with ``jti`` (any thread; never raises)."""
        token = self._token
        if token is None:
            return
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(self._revoked, jti)

    def _revoked(self, jti: str) -> None:
        for on_revoked in list(self._watchers.get(jti, ())):
            try:
                on_revoked()
            except Exception:  # a trio callback: raising here would end the relay
                log.exception("token_watch_failed jti=%s", jti)

    @contextlib.contextmanager
    def watch_token(self, jti: str, on_revoked: Callable[[], None]) -> Iterator[None]:
        """Call ``on_revoked`` (on the trio thread) if ``jti`` is revoked during the block."""
        watchers = self._watchers.setdefault(jti, set())
        watchers.add(on_revoked)
        try:
            yield
        finally:
            watchers.discard(on_revoked)
            if not watchers:
                self._watchers.pop(jti, None)

    # -- publishing (any thread) ------------------------------------------------------------

    def publish(
        self,
        event: str,
        data: dict[str, Any],
        *,
        view: str | None = None,
        agent_id: str | None = None,
    ) -> None:
        """Append ``event`` to the stream; never raises into the caller, never blocks.

        ``data`` must be JSON-serialisable and is not copied: don't change it afterwards.
        An event published before ``start`` (or after ``stop``) is dropped.
        """
        if event not in EVENT_NAMES:
            log.error("event_rejected reason=unknown-event event=%s", event)
            return
        try:
            self._queue_append(event, data, view, agent_id)
        except Unavailable:
            log.debug("event_dropped reason=store-stopped event=%s", event)
        except Exception:
            log.exception("event_publish_failed event=%s", event)

    def _queue_append(
        self, event: str, data: dict[str, Any], view: str | None, agent_id: str | None
    ) -> None:
        with self._lock:
            store = self._store
            if store is None:
                log.debug("event_dropped reason=not-started event=%s", event)
                return
            job = partial(stream_store.append, event, data, view, agent_id, self._clock.now_ms())
            future = store.submit_write(job)
            self._track(future, lambda stored: [stored])

    def write_with_events(
        self,
        submit: Callable[[Job[tuple[T, list[StreamEvent]]]], concurrent.futures.Future[Any]],
        job: Job[tuple[T, list[StreamEvent]]],
    ) -> concurrent.futures.Future[tuple[T, list[StreamEvent]]]:
        """Queue ``job``, which appends its own stream events, and fan them out once committed.

        A change and the events describing it then commit together (one transaction, one
        commit to wait for). ``submit`` queues the job on the store's ordered writer (an
        actor's ``write``); it is called under the hub's lock, so these events and those of
        ``publish`` reach subscribers in id order.
        """
        with self._lock:
            future: concurrent.futures.Future[tuple[T, list[StreamEvent]]] = submit(job)
            if self._store is not None:
                self._track(future, lambda result: result[1])
        return future

    def _track(
        self,
        future: concurrent.futures.Future[Any],
        events_of: Callable[[Any], list[StreamEvent]],
    ) -> None:
        # Called under the lock, in the order the writes were queued (= commit order).
        tracked: concurrent.futures.Future[list[StreamEvent]] = concurrent.futures.Future()
        self._pending.append(tracked)

        def done(committed: concurrent.futures.Future[Any]) -> None:
            error = None if committed.cancelled() else committed.exception()
            if committed.cancelled() or error is not None:
                tracked.set_exception(error or RuntimeError("event write cancelled"))
            else:
                tracked.set_result(events_of(committed.result()))
            self._committed(tracked)

        future.add_done_callback(done)

    def _committed(self, _future: concurrent.futures.Future[list[StreamEvent]]) -> None:
        # Runs on the store thread (or on the publisher's, if the commit won the race).
        with self._lock:
            ready: list[StreamEvent] = []
            while self._pending and self._pending[0].done():
                head = self._pending.popleft()
                error = None if head.cancelled() else head.exception()
                if head.cancelled() or error is not None:
                    log.error("event_store_failed error=%r", error)
                    continue
                ready.extend(head.result())
            token = self._token
            if ready and token is not None:
                # Under the lock: the trio thread runs these callbacks in call order.
                with contextlib.suppress(trio.RunFinishedError):
                    token.run_sync_soon(self._on_commit, ready)

    # -- subscribing and fan-out (trio thread) ----------------------------------------------

    @contextlib.contextmanager
    def subscribe(
        self,
        stream_filter: StreamFilter,
        *,
        buffer: int,
        credential: StreamCredential | None = None,
    ) -> Iterator[Subscription]:
        """A live subscription for the duration of the ``with`` block (trio thread).

        Every event committed after this returns is offered to it, in id order (and maybe
        a few committed just before: ``start_id`` tells them apart). With a ``credential``
        it ends with ``signed-out`` when that token is revoked.
        """
        subscription = Subscription(
            stream_filter, buffer, self._last_committed_id, timer=self._timer
        )
        if self._token is None or self._streams_ended:
            subscription.close()  # stopping (or never started): nothing will come
        else:
            self._subscribers.add(subscription)
            self._groups.setdefault(stream_filter, set()).add(subscription)
        with contextlib.ExitStack() as watching:
            if credential is not None:
                watching.enter_context(
                    self.watch_token(credential.jti, partial(self._end, subscription))
                )
            try:
                yield subscription
            finally:
                self._remove(subscription)
                subscription.close()

    def _remove(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)
        group = self._groups.get(subscription.filter)
        if group is not None:
            group.discard(subscription)
            if not group:
                del self._groups[subscription.filter]

    def _end(self, subscription: Subscription) -> None:
        self._remove(subscription)
        subscription.end(SIGNED_OUT_REVOKED)

    def send_presence(self, agents: dict[str, int], orchestrators: dict[str, int]) -> None:
        """Offer one presence window to every subscriber (trio thread).

        Subscribers with the same filter share one encoded frame; one that admits nothing
        of the window gets no frame; one whose buffer is full skips this window.
        """
        if self._token is None or not self._subscribers or not (agents or orchestrators):
            return
        self.stats.presence_windows += 1
        for stream_filter, group in self._groups.items():
            seen = stream_filter.presence(agents, orchestrators)
            if not (seen["agents"] or seen["orchestrators"]):
                continue
            frame = Ephemeral(encode_ephemeral("presence", seen))
            self.stats.presence_encodings += 1
            for subscription in group:
                if not subscription.offer(frame):
                    self.stats.presence_skipped += 1

    def _on_commit(self, events: list[StreamEvent]) -> None:
        if self._token is None:
            return
        for event in events:
            self.stats.published[event.event] += 1
        self._last_committed_id = max(self._last_committed_id, events[-1].id)
        if self._batch_window <= 0:
            self._fan_out(events)
            return
        # One timer for the hub, not one per client: every subscriber wakes once per window.
        self._outbox.extend(events)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            trio.lowlevel.spawn_system_task(
                self._flush_after_window, self.window(), name="relay.events.flush"
            )

    def window(self) -> float:
        """The batch window now: the configured one, or longer with many clients."""
        return max(self._batch_window, len(self._subscribers) / self._writes_per_second)

    async def _flush_after_window(self, window: float) -> None:
        # A system task: anything it raised would end the whole trio run (TrioInternalError).
        await trio.sleep(window)
        self._flush_scheduled = False
        events, self._outbox = self._outbox, []
        if self._token is not None:
            self._fan_out(events)

    def _fan_out(self, events: list[StreamEvent]) -> None:
        # Runs in a system task or a trio callback: anything raised here would end the
        # whole relay, so a failure costs one client (or one event), never the process.
        #
        # The cost is O(events x filters + clients) per window: each event is encoded
        # once, each filter decides once per event, and each client is handed one shared
        # batch (one wake-up, one write), whatever the number of events in it.
        if not self._subscribers:
            return
        deliveries: list[Delivery] = []
        for event in events:
            try:
                deliveries.append(Delivery(event, encode_frame(event)))
            except Exception:  # encode_frame does not raise: a bug, logged and skipped
                log.exception("sse_fan_out_failed event_id=%d event=%s", event.id, event.event)
        slow: list[Subscription] = []
        failed: list[Subscription] = []
        for stream_filter, group in self._groups.items():
            admitted, broken = _admitted(stream_filter, deliveries)
            if admitted:
                batch = Batch.of(admitted)
                for subscription in group:
                    try:
                        if not subscription.offer(batch):
                            slow.append(subscription)
                    except Exception:
                        log.exception("sse_client_failed event_id=%d", batch.first_id)
                        failed.append(subscription)
            if broken:
                failed.extend(group)
        for subscription in slow:
            self._drop(subscription, "slow")
        for subscription in failed:
            self._drop(subscription, "error")

    def _drop(self, subscription: Subscription, reason: str) -> None:
        if subscription not in self._subscribers:
            return  # dropped already (slow, then failed on the same window)
        self._remove(subscription)
        subscription.close()
        self.stats.dropped += 1
        log.warning("sse_client_dropped reason=%s buffered=%d", reason, subscription.buffered)


def _admitted(
    stream_filter: StreamFilter, deliveries: list[Delivery]
) -> tuple[list[Delivery], bool]:
    """The deliveries ``stream_filter`` passes, in order, and whether it raised: then only
    those before the one it raised on (its clients get them, then are dropped)."""
    admitted: list[Delivery] = []
    for delivery in deliveries:
        try:
            passes = stream_filter.passes(delivery.event)
        except Exception:
            log.exception("sse_client_failed event_id=%d", delivery.event.id)
            return admitted, True
        if passes:
            admitted.append(delivery)
    return admitted, False
