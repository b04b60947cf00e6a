"""Waking a trio task from another thread (an actor's, or the store's asyncio loop).

The trio thread never blocks on a foreign future: it registers a callback that
the other thread runs when the outcome is ready, and that callback hands the
wake-up back to trio through ``TrioToken.run_sync_soon``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Callable
from typing import TypeVar

import trio

from relay.errors import Unavailable

T = TypeVar("T")

OnDone = Callable[[Callable[[], None]], None]


async def wait_until_done(on_done: OnDone, *, timeout: float, what: str) -> None:
    """Wait until ``on_done``'s callback fires; raise ``Unavailable`` after ``timeout`` s."""
    token = trio.lowlevel.current_trio_token()
    done = trio.Event()

    def wake() -> None:
        # RunFinishedError: nobody is waiting any more, the trio run is over.
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(done.set)

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
