"""One live client's bounded buffer (``Subscription``) and the token it was opened with."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import trio

from relay.events.deliveries import Batch, Delivery, Ephemeral, Item
from relay.events.filters import StreamFilter
from relay.stream_timer import StreamTimer

__all__ = ["StreamCredential", "Subscription"]


@dataclass(frozen=True, slots=True)
class StreamCredential:
    """The token a stream was opened with: it ends when ``jti`` is revoked or at ``exp``."""

    jti: str
    expires_at_ms: int


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
