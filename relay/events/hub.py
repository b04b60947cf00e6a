"""The hub: stored events handed to the trio thread in commit order, fanned out there."""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import trio

from relay.clock import Clock, SystemClock
from relay.errors import RelayError, Unavailable
from relay.event_frames import encode_ephemeral, encode_frame
from relay.events.deliveries import SIGNED_OUT_REVOKED, Batch, Delivery, Ephemeral
from relay.events.filters import StreamFilter, admitted_by
from relay.events.names import EVENT_NAMES
from relay.events.presence import PresenceBoard
from relay.events.stats import HubStats
from relay.events.subscription import StreamCredential, Subscription
from relay.store import stream as stream_store
from relay.store.stream import StreamEvent
from relay.store.thread import StoreThread
from relay.stream_timer import StreamTimer

__all__ = ["FAN_OUT_WRITES_PER_SECOND", "EventHub"]

log = logging.getLogger("relay.events")

T = TypeVar("T")
Job = Callable[[], Awaitable[T]]

# Each batch window costs one write per client, and a write through hypercorn's send path
# costs tens of microseconds of the trio thread whatever its size (py-spy: 45 % of the
# server with 500 streams at 25 ms windows). With many clients the window is stretched so
# that the writes stay under this many a second (500 clients: 50 ms, 2,000: 200 ms).
FAN_OUT_WRITES_PER_SECOND = 10_000


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
                    _log_dropped(error)
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
        # once (and once more per filter whose guard redacts it), each filter decides once
        # per event, and each client is handed one shared batch (one wake-up, one write),
        # whatever the number of events in it.
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
            admitted, broken = admitted_by(stream_filter, deliveries)
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


def _log_dropped(error: BaseException | None) -> None:
    """A write whose events are dropped with it: at ERROR only when nobody was told why.
    A change refused by its own rule (a 409, a 404) or by a store outage (a 503) answered
    its request with that error, and nothing it describes happened."""
    if isinstance(error, Unavailable):
        log.warning("event_store_failed error=%r", error)
    elif isinstance(error, RelayError):
        log.debug("event_write_refused error=%r", error)
    else:
        log.error("event_store_failed error=%r", error)
