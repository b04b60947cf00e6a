"""One timer for the waits of every event stream (trio thread only).

An SSE stream waits for its next batch with a deadline: its keep-alive, or its token's
``exp``. A cancel scope per wait (``trio.move_on_after``) cost a tenth of the server with
500 streams (py-spy, bench.sse): each batch written is one scope entered, its deadline
registered, and the scope closed. Here a stream only records its deadline; one system task
per timer sleeps until the earliest one and wakes the streams whose deadline passed.

A stream's deadlines only move later (now + keep-alive, or the same ``exp``), so the
timer keeps at most one entry per stream and re-checks it when it comes due: a stream
writing more often than its keep-alive costs the timer one look per keep-alive period.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
from typing import Protocol

import trio

__all__ = ["Sleeper", "StreamTimer"]

log = logging.getLogger("relay.events")


class Sleeper(Protocol):
    """What the timer wakes: something parked until ``deadline`` (trio time)."""

    @property
    def deadline(self) -> float: ...

    def wake(self) -> None: ...


class StreamTimer:
    """Calls ``wake()`` of each sleeper once trio's clock reaches its ``deadline``."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Sleeper]] = []
        self._due: dict[Sleeper, float] = {}  # the live entry of each sleeper in the heap
        self._order = itertools.count()  # ties: no comparison of sleepers
        self._sleep: trio.CancelScope | None = None  # the task's sleep, None: no task

    def watch(self, sleeper: Sleeper) -> None:
        """Wake ``sleeper`` at its ``deadline`` (or, if it moves it later, then)."""
        at = sleeper.deadline
        if math.isinf(at):
            return
        entry = self._due.get(sleeper)
        if entry is not None and entry <= at:
            return  # the timer looks at it again when that entry comes due
        self._push(sleeper, at)
        if self._sleep is None:
            # Spawned first: if that fails (a trio run ending), a later watch tries again.
            trio.lowlevel.spawn_system_task(self._run, name="relay.events.timer")
            self._sleep = trio.CancelScope(deadline=at)
        elif at < self._sleep.deadline:
            self._sleep.deadline = at

    def forget(self, sleeper: Sleeper) -> None:
        """Stop watching ``sleeper`` (its heap entry is dropped when it comes due)."""
        self._due.pop(sleeper, None)

    def _push(self, sleeper: Sleeper, at: float) -> None:
        self._due[sleeper] = at
        heapq.heappush(self._heap, (at, next(self._order), sleeper))

    async def _run(self) -> None:
        # A system task: anything it raised would end the whole trio run.
        try:
            while self._heap and self._sleep is not None:
                with self._sleep:
                    await trio.sleep_forever()
                self._wake_due(trio.current_time())
                if self._heap:
                    self._sleep = trio.CancelScope(deadline=self._heap[0][0])
        finally:
            self._sleep = None

    def _wake_due(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            at, _, sleeper = heapq.heappop(self._heap)
            if self._due.get(sleeper) != at:
                continue  # forgotten, or replaced by an earlier entry
            del self._due[sleeper]
            try:
                if sleeper.deadline <= now:
                    sleeper.wake()
                elif not math.isinf(sleeper.deadline):
                    self._push(sleeper, sleeper.deadline)  # it wrote since: look again then
            except Exception:
                log.exception("stream_timer_failed")
