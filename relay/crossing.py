"""Waking a trio task from another thread (an actor's, or the store's asyncio loop).

The trio thread never blocks on a foreign future: it registers a callback that
the other thread runs when the outcome is ready, and that callback hands the
wake-up back to trio through the run's ``Batched`` (``TrioToken.run_sync_soon``, once
per burst).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

import trio

from relay.errors import Unavailable

T = TypeVar("T")

OnDone = Callable[[Callable[[], None]], None]
Call = Callable[[], object]


class Batched:
    """Calls handed from any thread to one loop's thread, a burst at a time.

    The first call of a burst schedules one drain through ``schedule``
    (``TrioToken.run_sync_soon``, ``loop.call_soon_threadsafe``); the calls that arrive
    before that drain runs only join its list. Each schedule writes to the loop's wake-up
    socket: a system call, which gives up the GIL. A group commit that settles twenty
    heartbeats used to do that twenty times on the store thread, and wake the trio
    thread as often (the heartbeat profile). Calls run in the order they were handed in.

    Used to wake the trio thread only: batching the store loop's submissions the same way
    cost bench.commands about 13 % more server CPU at its steady 100/s (80 % against
    69-71 %), for a reason not found yet, so those stay one ``call_soon_threadsafe`` each.
    """

    def __init__(self, schedule: Callable[[Call], object]) -> None:
        self._schedule = schedule
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def call_soon(self, call: Call) -> None:
        """Run ``call()`` on the loop's thread soon. Raises what ``schedule`` raises (the
        loop is gone); the calls of the burst it would have drained are dropped with it."""
        with self._lock:
            self._calls.append(call)
            if len(self._calls) > 1:
                return  # a drain is already scheduled and will run it
        try:
            self._schedule(self._drain)
        except BaseException:
            with self._lock:
                self._calls.clear()
            raise

    def _drain(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        failure: BaseException | None = None
        for call in calls:
            try:
                call()
            except BaseException as exc:  # the others still run; the loop sees the first
                failure = failure or exc
        if failure is not None:
            raise failure


_TRIO_CALLS: trio.lowlevel.RunVar[Batched] = trio.lowlevel.RunVar("relay_trio_calls")


def trio_calls() -> Batched:
    """The current trio run's ``Batched`` (call on the trio thread; use from any)."""
    try:
        return _TRIO_CALLS.get()
    except LookupError:
        calls = Batched(trio.lowlevel.current_trio_token().run_sync_soon)
        _TRIO_CALLS.set(calls)
        return calls


async def wait_until_done(on_done: OnDone, *, timeout: float, what: str) -> None:
    """Wait until ``on_done``'s callback fires; raise ``Unavailable`` after ``timeout`` s."""
    calls = trio_calls()
    done = trio.Event()

    def wake() -> None:
        # RunFinishedError: nobody is waiting any more, the trio run is over.
        with contextlib.suppress(trio.RunFinishedError):
            calls.call_soon(done.set)

    on_done(wake)
    with trio.move_on_after(timeout):
        await done.wait()
    if not done.is_set():
        raise Unavailable(f"{what} timed out")


async def wait_future(future: concurrent.futures.Future[T], *, timeout: float, what: str) -> T:
    """Await a ``concurrent.futures.Future`` from trio without blocking the loop."""
    if not future.done():
        await wait_until_done(
            lambda wake: future.add_done_callback(lambda _f: wake()), timeout=timeout, what=what
        )
    return future.result(timeout=0)
