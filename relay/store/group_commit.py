"""The store's one writer: group commit, in queue order, fenced by leadership.

One task takes everything queued while the last commit ran and executes it in one
transaction: every caller's write is durable when its future resolves, and the cost of a
commit is shared. Writes are applied in FIFO order, so a read queued behind a write sees
it (``StoreThread.submit_after_writes``).

On PostgreSQL with leadership (``relay.election``), every write transaction first reads the
leader row's epoch ``FOR SHARE`` and rolls back with ``Deposed`` when it is not this
process's (``Fence``): a relay that lost leadership, however late it wakes, commits nothing
once a successor holds the lease.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from relay.errors import Deposed
from relay.store.faults import store_error
from relay.store.leader_lease import FENCE
from relay.store.sqlite_inline import InlineSqliteClient

T = TypeVar("T")
Job = Callable[[], Awaitable[T]]
Queued = tuple[Job[Any], concurrent.futures.Future[Any]]

log = logging.getLogger("relay.store")

MAX_BATCH = 256


class Outages:
    """What the caller of a failed job gets; an outage is logged once, when it starts, and
    once when it ends. Store loop only: it needs no lock."""

    def __init__(self) -> None:
        # Monotonic time of the first failure of the current outage.
        self._down_since: float | None = None

    def failed(self, exc: BaseException) -> BaseException:
        error = store_error(exc)
        if error is not exc and self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("store_unavailable error=%r", exc)
        return error

    def succeeded(self) -> None:
        if self._down_since is not None:
            log.info("store_recovered down_s=%.3f", time.monotonic() - self._down_since)
            self._down_since = None


class Fence:
    """The leader row's epoch every write transaction must find, and whom to tell (once,
    on the store thread) when it does not. ``relay serve`` sets both on the active of an
    elected cluster before the store starts; otherwise nothing is checked."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.on_deposed: Callable[[Deposed], None] | None = None
        self.deposed: Deposed | None = None

    async def check(self, connection: Any) -> None:
        """Raise ``Deposed`` unless the leader row holds our epoch (no-op without one)."""
        if self.epoch is None:
            return
        _count, rows = await connection.execute_query(FENCE)
        current = int(rows[0]["epoch"]) if rows else None
        if current != self.epoch:
            raise Deposed(
                f"this relay is no longer the active one (leadership epoch {current}, "
                f"ours {self.epoch})"
            )

    def depose(self, exc: Deposed) -> None:
        if self.deposed is not None:
            return
        self.deposed = exc
        if self.on_deposed is not None:
            self.on_deposed(exc)


class GroupCommit:
    """The writer task's state and loop (store loop only)."""

    def __init__(self, context: contextvars.Context, fence: Fence, outages: Outages) -> None:
        self._context = context
        self._fence = fence
        self._outages = outages
        self._queue: asyncio.Queue[Queued | None] = asyncio.Queue()
        # The last write queued and not yet settled: what a read that must see every queued
        # write waits for (``StoreThread.submit_after_writes``).
        self.last_queued: concurrent.futures.Future[Any] | None = None

    def put(self, job: Job[Any], future: concurrent.futures.Future[Any]) -> None:
        self._queue.put_nowait((job, future))
        self.last_queued = future

    def close(self) -> None:
        """Commit what is queued, then end ``run``."""
        self._queue.put_nowait(None)

    async def run(self) -> None:
        queue = self._queue
        closing = False
        while not closing:
            first = await queue.get()
            batch: list[Queued] = []
            if first is None:
                closing = True
            else:
                batch.append(first)
            while not queue.empty() and len(batch) < MAX_BATCH:
                item = queue.get_nowait()
                if item is None:
                    closing = True
                else:
                    batch.append(item)
            if batch:
                await self._commit(batch)
            # Let go of the committed jobs and futures (and whatever their callbacks hold,
            # such as a stopped actor) now, not when the next write arrives.
            first = None
            batch.clear()
            if self.last_queued is not None and self.last_queued.done():
                self.last_queued = None

    async def _commit(self, batch: list[Queued]) -> None:
        # Each batch runs in a fresh copy of the store's context: tortoise keeps the
        # transaction's connection in a context variable and, when a connection breaks
        # while a transaction begins or while it is handed back to the pool, leaves that
        # variable set. In the writer's own long-lived context every later batch would
        # then nest in a wrapper whose connection was released ("cannot call
        # Connection.transaction(): connection has been released back to the pool"),
        # for ever. A copy thrown away after the batch takes any such leftover with it.
        task = asyncio.get_running_loop().create_task(
            self._run_in_transaction([job for job, _ in batch]), context=self._context.copy()
        )
        try:
            results = await task
        except Deposed as exc:
            # Nothing of the batch was committed; no replay could be either.
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            self._fence.depose(exc)
            return
        except Exception as exc:
            await _roll_back_leftover()
            error = self._outages.failed(exc)
            if len(batch) == 1 or error is not exc:
                # An outage fails every job alike: replaying them one by one against a
                # database that is not there would only hold the queue up.
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                return
            # One job failed and rolled the whole batch back: replay each on its own so
            # only the faulty one fails. Jobs are plain writes of actor state, safe to replay.
            for item in batch:
                await self._commit([item])
            return
        self._outages.succeeded()
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _run_in_transaction(self, jobs: list[Job[Any]]) -> list[Any]:
        if self._fence.deposed is not None:  # no round trip to learn it again
            raise self._fence.deposed
        async with in_transaction() as connection:
            await self._fence.check(connection)
            return [await job() for job in jobs]


async def _roll_back_leftover() -> None:
    """End a transaction a failed batch left open on SQLite's one connection.

    SQLite may keep a transaction open after an error (a COMMIT that hit a full disk, or
    a ROLLBACK that failed); tortoise's next BEGIN would first COMMIT it, writing the
    failed batch after its callers were told it failed.
    """
    client = get_connection("default")
    if not isinstance(client, InlineSqliteClient):
        return
    try:
        await client.roll_back_leftover()
    except Exception as exc:  # the writer must live on; the next batch tries again
        log.warning("rollback_failed error=%r", exc)
