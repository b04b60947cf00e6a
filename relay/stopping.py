"""When a serving relay stops: on SIGINT/SIGTERM, or on the first of several triggers."""

from __future__ import annotations

import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import trio

log = logging.getLogger("relay")


@asynccontextmanager
async def open_stop_signals() -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """Catch SIGINT and SIGTERM from now on; yields a wait that returns on the first one.

    Opened before start-up, so a signal that arrives while the relay starts (or just after
    it said where it listens) stops it gracefully once it serves, instead of killing it.
    """
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

        async def signalled() -> None:
            async for signum in signals:
                log.info("relay_stopping signal=%s", signal.Signals(signum).name)
                return

        yield signalled


async def first_of(*waits: Callable[[], Awaitable[None]]) -> None:
    """Return once the first of ``waits`` returns; the others are cancelled."""
    async with trio.open_nursery() as nursery:

        async def until(wait: Callable[[], Awaitable[None]]) -> None:
            await wait()
            nursery.cancel_scope.cancel()

        for wait in waits:
            nursery.start_soon(until, wait)
