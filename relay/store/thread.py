"""The store thread: tortoise-orm on its own asyncio loop, with group commit for writes.

tortoise is asyncio-only and keeps its connections in context variables, so one
dedicated thread owns an asyncio loop, runs ``Tortoise.init`` on it, and every
store job runs as a task in a copy of the context captured inside that init.

Writes go through one writer task (``relay.store.group_commit``) that takes everything
queued while the last commit ran and executes it in one transaction: every caller's
write is durable when its future resolves, and writes apply in the order they are queued.

A job that fails because the database is unreachable or cannot write (``relay.store.faults``)
fails its caller with ``Unavailable("store unavailable")``, a 503 with ``Retry-After`` on
every route; the next job tries the database again, so the relay recovers by itself once
the database is back.

On PostgreSQL with leadership (``relay.election``), every write transaction is fenced by
the leader row's epoch (``fence_epoch``, ``group_commit.Fence``). All writes go through the
writer (``submit_write``); ``submit`` is for reads, and start-up migrations run only once
this process won the election.

Stopping refuses new jobs, commits the queued writes, lets reads in flight finish (for
at most ``shutdown_grace`` seconds, then cancels them) and only then closes the
connections and the loop: no task outlives its loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from tortoise import Tortoise, connections
from tortoise.transactions import in_transaction

from relay.crossing import wait_future
from relay.errors import Deposed, Unavailable
from relay.store.checkpoint import Checkpointer
from relay.store.group_commit import Fence, GroupCommit, Job, Outages
from relay.store.schema import migrate_to_latest, sqlite_path, tortoise_config

T = TypeVar("T")

log = logging.getLogger("relay.store")


class StoreThread:
    """Owns the database: start it once, submit jobs from any thread, stop it once."""

    def __init__(
        self,
        database_url: str,
        *,
        timeout: float = 10.0,
        shutdown_grace: float = 5.0,
        idle_in_transaction_seconds: float = 10.0,
        waiting: Callable[[], contextlib.AbstractContextManager[None]] = contextlib.nullcontext,
    ) -> None:
        self.database_url = database_url
        # Entered around every blocking ``call``: an actor pool's thread says it waits
        # (``relay.actors.runtime.pool.blocking``), so another serves meanwhile.
        self._waiting = waiting
        # PostgreSQL ends a session idle in a transaction this long (see
        # ``relay.store.schema.postgres_session_settings``): the leader's renew deadline.
        self.idle_in_transaction_seconds = idle_in_transaction_seconds
        self.timeout = timeout
        self.shutdown_grace = shutdown_grace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._context: contextvars.Context | None = None
        self._thread: threading.Thread | None = None
        self._group_commit: GroupCommit | None = None
        self._writer: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopped = threading.Event()
        self._closing = False
        self._checkpointer: Checkpointer | None = None
        self._outages = Outages()
        self._fence = Fence()

    # Set before ``start()`` by ``relay serve`` on the active of an elected cluster: the
    # leader row's epoch every write transaction must find, and whom to tell when it does
    # not (called once, on the store thread).

    @property
    def fence_epoch(self) -> int | None:
        return self._fence.epoch

    @fence_epoch.setter
    def fence_epoch(self, epoch: int | None) -> None:
        self._fence.epoch = epoch

    @property
    def on_deposed(self) -> Callable[[Deposed], None] | None:
        return self._fence.on_deposed

    @on_deposed.setter
    def on_deposed(self, callback: Callable[[Deposed], None] | None) -> None:
        self._fence.on_deposed = callback

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
        self._group_commit = GroupCommit(self._context, self._fence, self._outages)
        self._writer = asyncio.get_running_loop().create_task(self._group_commit.run())

    async def _migrate_fenced(self, config: dict[str, Any]) -> None:
        """Migrate; on an elected active, only while the leader row still holds our epoch.

        The election connection holds the instance lock meanwhile (no relay of the previous
        version starts), and the epoch is checked before and after: a relay deposed while it
        starts does not begin migrating beside its successor, and one deposed during the
        migrations fails its start rather than serve.
        """
        if self.fence_epoch is not None:
            async with in_transaction() as connection:
                await self._fence.check(connection)
        await migrate_to_latest(config)
        if self.fence_epoch is not None:
            async with in_transaction() as connection:
                await self._fence.check(connection)

    def _begin_shutdown(self) -> None:
        # Runs on the loop, so every job launched after this line is refused. The writer
        # drains what is queued, then the loop stops and _main closes tortoise.
        loop = self._loop
        assert self._group_commit is not None
        assert self._writer is not None
        assert loop is not None
        self._closing = True
        self._writer.add_done_callback(lambda _task: loop.stop())
        self._group_commit.close()

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
        writer = self._group_commit
        assert writer is not None

        def enqueue() -> None:
            if self._closing:  # behind the writer's last batch: it would never commit
                future.set_exception(Unavailable("store is shutting down"))
            else:
                writer.put(job, future)

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
        writer = self._group_commit
        assert writer is not None

        def after_queued() -> None:
            last = writer.last_queued
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
            with self._waiting():
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

    # -- outcomes -----------------------------------------------------------------------------

    def _settle(self, future: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
        if future.done():
            return
        if task.cancelled():  # only ever by stop(), past its grace
            future.set_exception(Unavailable("store is shutting down"))
        elif (exc := task.exception()) is not None:
            future.set_exception(self._outages.failed(exc))
        else:
            self._outages.succeeded()
            future.set_result(task.result())


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
