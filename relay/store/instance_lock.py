"""One relay per store: a lock held for the life of the process, taken before migrations run.

relay keeps state in its actors and trusts that it is the store's only writer: a second
process on the same database hands out commands the first settled and leaves leases held.
Until relay supports several processes, ``acquire_instance_lock`` refuses the second one.

- PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a dedicated connection,
  whose ``application_name`` names the holder (host and pid), so a refused relay can say
  who holds it. The lock lives as long as that connection: ``check()`` notices when it has
  gone (the server restarted, the backend was terminated).
- SQLite: ``fcntl.flock`` on ``PATH.lock`` next to the database file; the holder writes its
  host and pid into it. The kernel drops the lock when the process ends, however it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Protocol, TypeVar

from relay.startup import one_line
from relay.store.schema import sqlite_path

T = TypeVar("T")

# pg_try_advisory_lock(int4, int4): "rely", then 1 for "the serving process". The lock is
# per database, so two relays on two databases of one server do not exclude each other.
_PG_KEY = (0x72656C79, 1)
_PG_TIMEOUT_S = 10.0


class InstanceLockError(Exception):
    """The lock could not be taken, or was lost; the message is one line for the operator."""


class InstanceLockHeld(InstanceLockError):
    """Another relay holds the store."""


class InstanceLockLost(InstanceLockError):
    """The lock this process held is gone: it no longer guards the store."""


class InstanceLock(Protocol):
    def check(self) -> None:
        """Raise ``InstanceLockLost`` if this process no longer holds the lock."""

    def release(self) -> None:
        """Let the lock go (idempotent)."""


def holder_name() -> str:
    """How this process names itself as the lock holder."""
    return f"relay host={socket.gethostname()} pid={os.getpid()}"


def acquire_instance_lock(database_url: str) -> InstanceLock:
    """Take the store's instance lock, or raise.

    Raises:
        InstanceLockHeld: another relay holds it (the message names the holder).
        OSError: the lock file cannot be opened (SQLite).
        Exception: PostgreSQL cannot be reached (asyncpg's or the socket's error).
    """
    path = sqlite_path(database_url)
    if path is None:
        return PostgresInstanceLock.acquire(database_url)
    if path == ":memory:":
        return _NoLock()
    return FileInstanceLock.acquire(Path(path + ".lock"))


class _NoLock:
    """An in-memory database is private to its process: nothing to guard."""

    def check(self) -> None:
        return None

    def release(self) -> None:
        return None


class FileInstanceLock:
    """An exclusive ``flock`` on a file next to the SQLite database."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd
        self._inode = os.fstat(fd).st_ino

    @classmethod
    def acquire(cls, path: Path) -> FileInstanceLock:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise InstanceLockHeld(
                f"another relay is using this database ({holder}; lock file {path})"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, (holder_name() + "\n").encode(), 0)
        return cls(path, fd)

    def check(self) -> None:
        # flock cannot be taken away, but the file can be deleted: a second relay would then
        # lock a new file of the same name while this one holds a lock on nothing.
        try:
            same = os.stat(self.path).st_ino == self._inode
        except FileNotFoundError:
            same = False
        if not same:
            raise InstanceLockLost(f"the lock file {self.path} was removed or replaced")

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor drops the flock


class PostgresInstanceLock:
    """A session advisory lock on a connection of its own, served by a small asyncio thread.

    asyncpg needs an asyncio loop, and the lock must outlive any one call: the connection
    lives on a loop in a daemon thread, and ``check``/``release`` run coroutines there.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self._loop = loop
        self._thread = thread
        self._connection: Any = None

    @classmethod
    def acquire(cls, database_url: str) -> PostgresInstanceLock:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="relay-instance-lock", daemon=True)
        thread.start()
        lock = cls(loop, thread)
        try:
            lock._call(lock._lock(database_url))
        except BaseException:
            lock.release()
            raise
        return lock

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(_PG_TIMEOUT_S + 5)
        except TimeoutError:
            future.cancel()
            raise

    async def _lock(self, database_url: str) -> None:
        import asyncpg
        from tortoise.backends.base.config_generator import expand_db_url

        # tortoise's own URL parsing, so its query options (minsize, schema …) are not
        # handed to asyncpg as server settings.
        credentials = expand_db_url(database_url)["credentials"]
        options = {"ssl": credentials["ssl"]} if credentials.get("ssl") is not None else {}
        self._connection = await asyncpg.connect(
            host=credentials.get("host"),
            port=credentials.get("port"),
            user=credentials.get("user"),
            password=credentials.get("password"),
            database=credentials.get("database"),
            timeout=_PG_TIMEOUT_S,
            server_settings={"application_name": holder_name()[:63]},
            **options,
        )
        taken = await self._connection.fetchval(
            "SELECT pg_try_advisory_lock($1::int4, $2::int4)", *_PG_KEY
        )
        if not taken:
            raise InstanceLockHeld(f"another relay is using this database ({await self._holder()})")

    async def _holder(self) -> str:
        row = await self._connection.fetchrow(
            "SELECT a.pid, a.application_name, host(a.client_addr) AS addr"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted"
            " AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid AND l.objsubid = 2"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            *_PG_KEY,
        )
        if row is None:  # released between our attempt and this look
            return "holder unknown"
        name = row["application_name"] or "unnamed"
        where = f" from {row['addr']}" if row["addr"] else ""
        return f"{name}{where}, backend pid {row['pid']}"

    async def _still_held(self) -> bool:
        held: bool = await asyncio.wait_for(
            self._connection.fetchval(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                " AND granted AND pid = pg_backend_pid()"
                " AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2)",
                *_PG_KEY,
            ),
            _PG_TIMEOUT_S,
        )
        return held

    def check(self) -> None:
        if self._connection is None:
            raise InstanceLockLost("the instance lock was released")
        try:
            held = self._call(self._still_held())
        except Exception as exc:  # the connection, and with it the lock, is gone
            raise InstanceLockLost(
                f"the instance lock's database connection failed: {one_line(exc)}"
            ) from None
        if not held:
            raise InstanceLockLost("the instance lock is no longer held")

    def release(self) -> None:
        if not self._thread.is_alive():
            return
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # closing ends the session and its lock
                self._call(connection.close(timeout=5))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()
