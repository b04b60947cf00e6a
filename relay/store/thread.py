"""The store thread: tortoise-orm on its own asyncio loop, with group commit for writes.

tortoise is asyncio-only and keeps its connections in context variables, so one
dedicated thread owns an asyncio loop, runs ``Tortoise.init`` on it, and every
store job runs as a task in a copy of the context captured inside that init.

Writes go through one writer task that takes everything queued while the last
commit ran and executes it in one transaction (group commit): every caller's
write is durable when its future resolves, and the cost of a commit is shared.
Writes are applied in FIFO order, so a read queued behind a write (``barrier``)
sees it.

A job that fails because the database is unreachable or cannot write (``relay.store.faults``)
fails its caller with ``Unavailable("store unavailable")``, a 503 with ``Retry-After`` on
every route; the next job tries the database again, so the relay recovers by itself once
the database is back.

On PostgreSQL with leadership (``relay.election``), every write transaction first reads the
leader row's epoch ``FOR SHARE`` and rolls back with ``Deposed`` when it is not this
process's (``fence_epoch``): a relay that lost leadership, however late it wakes, commits
nothing once a successor holds the lease. All writes go through the group-commit writer
(``submit_write``); ``submit`` is for reads, and start-up migrations run only once this
process won the election.

Stopping refuses new jobs, commits the queued writes, lets reads in flight finish (for
at most ``shutdown_grace`` seconds, then cancels them) and only then closes the
connections and the loop: no task outlives its loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tortoise import Tortoise, connections
from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from relay.crossing import wait_future
from relay.errors import Deposed, Unavailable
from relay.store.checkpoint import Checkpointer
from relay.store.faults import store_error
from relay.store.leader_lease import FENCE
from relay.store.schema import migrate_to_latest, sqlite_path, tortoise_config
from relay.store.sqlite_inline import InlineSqliteClient

T = TypeVar("T")
Job = Callable[[], Awaitable[T]]

log = logging.getLogger("relay.store")

_MAX_BATCH = 256


class StoreThread:
    """Owns the database: start it once, submit jobs from any thread, stop it once."""

    def __init__(
        self,
        database_url: str,
        *,
        timeout: float = 10.0,
        shutdown_grace: float = 5.0,
        idle_in_transaction_seconds: float = 10.0,
    ) -> None:
        self.database_url = database_url
        # PostgreSQL ends a session idle in a transaction this long (see
        # ``relay.store.schema.postgres_session_settings``): the leader's renew deadline.
        self.idle_in_transaction_seconds = idle_in_transaction_seconds
        self.timeout = timeout
        self.shutdown_grace = shutdown_grace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None
        self._thread: threading.Thread | None = None
        self._queue: asyncio.Queue[tuple[Job[Any], concurrent.futures.Future[Any]] | None] | None
        self._queue = None
        self._writer: asyncio.Task[None] | None = None
        # The last write queued and not yet settled (store loop only): what a read that
        # must see every queued write waits for (``submit_after_writes``).
        self._last_queued: concurrent.futures.Future[Any] | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopped = threading.Event()
        self._closing = False
        self._checkpointer: Checkpointer | None = None
        # Monotonic time of the first failure of the current outage; only the store loop
        # reads or writes it, so it needs no lock.
        self._down_since: float | None = None
        # Set before ``start()`` by ``relay serve`` on the active of an elected cluster: the
        # leader row's epoch every write transaction must find, and whom to tell when it
        # does not (called once, on the store thread).
        self.fence_epoch: int | None = None
        self.on_deposed: Callable[[Deposed], None] | None = None
        self._deposed: Deposed | None = None

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread, initialise tortoise and apply migrations. Blocks until ready."""
        self._thread = threading.Thread(target=self._main, name="relay-store", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error
        path = sqlite_path(self.database_url)
        if path is not None and path != ":memory:":
            self._checkpointer = Checkpointer(path)
            self._checkpointer.start()

    @property
    def started(self) -> bool:
        """True once ``start()`` has succeeded (``relay serve`` starts it before serving)."""
        return self._context is not None

    @property
    def closing(self) -> bool:
        """True once ``stop()`` has begun: new jobs are refused from then on."""
        return self._closing or self._stopped.is_set()

    def stop(self) -> None:
        """Refuse new jobs, drain queued writes and reads in flight, close, end the thread."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        loop = self._loop
        if loop is None or self._thread is None or self._stopped.is_set():
            return
        try:
            loop.call_soon_threadsafe(self._begin_shutdown)
        except RuntimeError:
            return  # the loop is already closed
        self._thread.join(timeout=30)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._init())
        except BaseException as exc:  # hand any start-up failure to start()'s caller
            self._start_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            if self._context is not None:  # the connections live in the captured context
                loop.run_until_complete(loop.create_task(self._close(), context=self._context))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._stopped.set()

    async def _init(self) -> None:
        config = tortoise_config(
            self.database_url, idle_in_transaction_seconds=self.idle_in_transaction_seconds
        )
        await Tortoise.init(config=config)
        # tortoise (1.1.9) connects SQLite lazily inside ConnectionWrapper.__aenter__, after
        # taking the connection's lock, and keeps the lock when the connect fails: the next
        # statement then waits on it forever. Connecting here, outside any lock, makes a
        # database that cannot be opened fail start() at once.
        await connections.get("default").create_connection(with_db=True)
        try:
            await self._migrate_fenced(config)
        except BaseException:
            # A start that fails (deposed, a failed migration) leaves no pool open behind it.
            await Tortoise.close_connections()
            raise
        # Captured here, inside the coroutine that awaited init: the context holds
        # tortoise's connections; captured after run_until_complete it would be empty.
        self._context = contextvars.copy_context()
        self._queue = asyncio.Queue()
        self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def _migrate_fenced(self, config: dict[str, Any]) -> None:
        """Migrate; on an elected active, only while the leader row still holds our epoch.

        The election connection holds the instance lock meanwhile (no relay of the previous
        version starts), and the epoch is checked before and after: a relay deposed while it
        starts does not begin migrating beside its successor, and one deposed during the
        migrations fails its start rather than serve.
        """
        if self.fence_epoch is not None:
            async with in_transaction() as connection:
                await self._check_fence(connection, self.fence_epoch)
        await migrate_to_latest(config)
        if self.fence_epoch is not None:
            async with in_transaction() as connection:
                await self._check_fence(connection, self.fence_epoch)

    def _begin_shutdown(self) -> None:
        # Runs on the loop, so every job launched after this line is refused. The writer
        # drains what is queued, then the loop stops and _main closes tortoise.
        loop = self._loop
        assert self._queue is not None
        assert self._writer is not None
        assert loop is not None
        self._closing = True
        self._writer.add_done_callback(lambda _task: loop.stop())
        self._queue.put_nowait(None)

    async def _close(self) -> None:
        # A task left pending when the loop closes is finalised later by the garbage
        # collector, in whatever thread happens to run it, where its cleanup fails (the
        # loop is gone) and CPython 3.11 may even be building an AST (gh-106905). So reads
        # still in flight finish or are cancelled first, and so is anything closing the
        # connections wakes.
        await _finish_tasks(self.shutdown_grace)
        await Tortoise.close_connections()
        await _finish_tasks(0)

    # -- submitting jobs --------------------------------------------------------------------

    def submit(self, job: Job[T]) -> concurrent.futures.Future[T]:
        """Run ``job()`` on the store loop (reads, or writes that manage their own transaction)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        loop, _ = self._require_running()
        loop.call_soon_threadsafe(self._launch, job, future)
        return future

    def _launch(self, job: Job[T], future: concurrent.futures.Future[T]) -> None:
        # On the store loop.
        if self._closing:
            future.set_exception(Unavailable("store is shutting down"))
            return
        assert self._loop is not None
        assert self._context is not None
        task = self._loop.create_task(_call(job), context=self._context.copy())
        task.add_done_callback(lambda t: self._settle(future, t))

    def submit_write(self, job: Job[T]) -> concurrent.futures.Future[T]:
        """Queue ``job()`` for the next group commit; the future resolves once it is durable."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        loop, _ = self._require_running()
        queue = self._queue
        assert queue is not None

        def enqueue() -> None:
            if self._closing:  # behind the writer's last batch: it would never commit
                future.set_exception(Unavailable("store is shutting down"))
            else:
                queue.put_nowait((job, future))
                self._last_queued = future

        loop.call_soon_threadsafe(enqueue)
        return future

    def submit_after_writes(self, job: Job[T]) -> concurrent.futures.Future[T]:
        """Run the read ``job()`` once every write queued before it has settled.

        It sees all of them, as a read queued on the writer would, without joining a group
        commit: it starts as soon as the last of them is committed, ahead of the next batch,
        instead of waiting for the batch it would have joined (an actor's load or a repeat's
        look-up then waits for one commit, not two).
        """
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        loop, _ = self._require_running()

        def after_queued() -> None:
            last = self._last_queued
            if last is None or last.done():
                self._launch(job, future)
            else:
                # The writer settles it on this loop, before it takes its next batch: the
                # read's task is then created first, and takes the connection first.
                last.add_done_callback(lambda _last: self._launch(job, future))

        loop.call_soon_threadsafe(after_queued)
        return future

    def call(
        self,
        job: Job[T],
        *,
        write: bool = False,
        after_writes: bool = False,
        timeout: float | None = None,
    ) -> T:
        """Blocking variant for actor threads (never call it on the trio thread): ``write``
        queues it on the writer, ``after_writes`` reads behind it (``submit_after_writes``)."""
        if write:
            future = self.submit_write(job)
        elif after_writes:
            future = self.submit_after_writes(job)
        else:
            future = self.submit(job)
        try:
            return future.result(timeout if timeout is not None else self.timeout)
        except TimeoutError:
            raise Unavailable("store timed out") from None

    async def run(self, job: Job[T]) -> T:
        """Run a job from trio without blocking the trio thread."""
        return await wait_future(self.submit(job), timeout=self.timeout, what="store")

    async def write(self, job: Job[T]) -> T:
        """Group-committed write from trio."""
        return await wait_future(self.submit_write(job), timeout=self.timeout, what="store")

    def _require_running(self) -> tuple[asyncio.AbstractEventLoop, contextvars.Context]:
        if self._loop is None or self._context is None or self.closing:
            raise Unavailable("store is not running")
        return self._loop, self._context

    # -- group commit -----------------------------------------------------------------------

    async def _write_loop(self) -> None:
        assert self._queue is not None
        queue = self._queue
        closing = False
        while not closing:
            first = await queue.get()
            batch: list[tuple[Job[Any], concurrent.futures.Future[Any]]] = []
            if first is None:
                closing = True
            else:
                batch.append(first)
            while not queue.empty() and len(batch) < _MAX_BATCH:
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
            if self._last_queued is not None and self._last_queued.done():
                self._last_queued = None

    async def _commit(self, batch: list[tuple[Job[Any], concurrent.futures.Future[Any]]]) -> None:
        assert self._context is not None
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
            self._depose(exc)
            return
        except Exception as exc:
            await _roll_back_leftover()
            error = self._failed(exc)
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
        self._succeeded()
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _run_in_transaction(self, jobs: list[Job[Any]]) -> list[Any]:
        if self._deposed is not None:  # no round trip to learn it again
            raise self._deposed
        async with in_transaction() as connection:
            if self.fence_epoch is not None:
                await self._check_fence(connection, self.fence_epoch)
            return [await job() for job in jobs]

    async def _check_fence(self, connection: Any, mine: int) -> None:
        _count, rows = await connection.execute_query(FENCE)
        current = int(rows[0]["epoch"]) if rows else None
        if current != mine:
            raise Deposed(
                f"this relay is no longer the active one (leadership epoch {current}, ours {mine})"
            )

    def _depose(self, exc: Deposed) -> None:
        if self._deposed is not None:
            return
        self._deposed = exc
        if self.on_deposed is not None:
            self.on_deposed(exc)

    # -- outcomes -----------------------------------------------------------------------------

    def _settle(self, future: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
        if future.done():
            return
        if task.cancelled():  # only ever by stop(), past its grace
            future.set_exception(Unavailable("store is shutting down"))
        elif (exc := task.exception()) is not None:
            future.set_exception(self._failed(exc))
        else:
            self._succeeded()
            future.set_result(task.result())

    def _failed(self, exc: BaseException) -> BaseException:
        """What the caller of a failed job gets; an outage is logged once, when it starts."""
        error = store_error(exc)
        if error is not exc and self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("store_unavailable error=%r", exc)
        return error

    def _succeeded(self) -> None:
        if self._down_since is not None:
            log.info("store_recovered down_s=%.3f", time.monotonic() - self._down_since)
            self._down_since = None


async def _call(job: Job[T]) -> T:
    return await job()


async def _finish_tasks(grace: float) -> None:
    """Wait up to ``grace`` s for every other task on this loop, then cancel what is left."""
    current = asyncio.current_task()
    pending = {task for task in asyncio.all_tasks() if task is not current}
    if not pending:
        return
    if grace > 0:
        _done, pending = await asyncio.wait(pending, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


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
