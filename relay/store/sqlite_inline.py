"""tortoise's SQLite backend, run on the store thread itself instead of a thread of its own.

aiosqlite gives every connection a worker thread and hands it each statement: a queue put,
a wake-up of that thread, and a ``call_soon_threadsafe`` back to the event loop, per
statement. relay already gives the database a thread of its own (``StoreThread``) whose
event loop does nothing but the store's work, so that second hop buys nothing: here the
statements run inline, on the store thread. A statement then holds up the store's loop
while SQLite works, which is what the group-commit writer waits for anyway, and sqlite3
releases the GIL meanwhile, so the rest of the relay runs on.

The tortoise config names this module as the engine (``engine: relay.store.sqlite_inline``);
everything else is tortoise's own SQLite client.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite
from tortoise.backends.sqlite.client import SqliteClient


class InlineConnection(aiosqlite.Connection):
    """An ``aiosqlite.Connection`` whose calls run on the caller's thread, in its loop.

    aiosqlite funnels every operation, cursors' included, through ``_execute``; this runs
    the function at once instead of queueing it for the worker thread, which is never
    started.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Any:
        return self._connect().__await__()

    def stop(self) -> None:
        self._running = False
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    async def close(self) -> None:
        self.stop()


def connect(path: str, **kwargs: Any) -> InlineConnection:
    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(path, **kwargs)
        return connection

    return InlineConnection(connector, iter_chunk_size=64)


class InlineSqliteClient(SqliteClient):
    async def create_connection(self, with_db: bool) -> None:
        if not self._connection:
            self._connection = await connect(self.filename, isolation_level=None)
            self._connection._conn.row_factory = sqlite3.Row
            for pragma, value in self.pragmas.items():
                cursor = await self._connection.execute(f"PRAGMA {pragma}={value}")
                await cursor.close()
            await self._post_connect()

    async def roll_back_leftover(self) -> None:
        """Roll back a transaction a failed statement or COMMIT left open, if any.

        Raises:
            sqlite3.Error: the rollback itself failed (the disk is failing).
        """
        # Under the lock every transaction takes, so an open transaction is nobody's.
        async with self._lock:
            connection = self._connection
            if connection is not None and connection.in_transaction:
                await connection.rollback()


client_class = InlineSqliteClient
