"""The leader row and the members table on PostgreSQL, on a connection of their own.

Neither is a tortoise model, nor made by a migration: every process must elect before it
migrates (only the active migrates), so ``ensure_tables`` creates them idempotently, under
a transaction-level advisory lock, because two ``CREATE TABLE IF NOT EXISTS`` of one name
racing in PostgreSQL can both pass the check and one then fails on the catalog's unique
index.

A standby has no store thread (tortoise starts only on the active), and the lease must be
renewed even while the store's pool is busy or stuck: asyncpg runs on a small asyncio loop
in a daemon thread, and every call is bounded by a timeout after which the connection is
dropped and opened afresh by the next call.

All times come from the database (``clock_timestamp()``), never from a host.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from relay.domain.leadership import Lease, Member
from relay.store.schema import postgres_session_settings

T = TypeVar("T")

LEADER_TABLE = "relay_leader"
MEMBERS_TABLE = "relay_members"

# pg_advisory_xact_lock(int4, int4): "rely", then 2 for "creating the election's tables".
_CREATE_KEY = (0x72656C79, 2)

# The instance lock of relays before the election, pg_try_advisory_lock(int4, int4): "rely",
# then 1 for "the serving process". Such a relay holds it while it serves and knows nothing
# of the leader row, so the winner of the election takes it too, on its election
# connection, before it activates: an old relay and an elected one never both write.
INSTANCE_KEY = (0x72656C79, 1)
# How a relay before the election named its lock's connection (``holder_name()`` then).
_OLD_RELAY_NAME = "relay host="

_TRY_INSTANCE_LOCK = "SELECT pg_try_advisory_lock($1::int4, $2::int4)"

_HOLDING_INSTANCE_LOCK = """
SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
   AND pid = pg_backend_pid()
   AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2)
"""

_INSTANCE_LOCK_HOLDER = """
SELECT a.pid, a.application_name, host(a.client_addr) AS addr
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()
   AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid AND l.objsubid = 2
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""

_CREATE = """
CREATE TABLE IF NOT EXISTS relay_leader (
    id integer PRIMARY KEY CHECK (id = 1),
    holder text,
    holder_url text,
    epoch bigint NOT NULL DEFAULT 0,
    acquired_at timestamptz,
    renewed_at timestamptz,
    expires_at timestamptz,
    changed_at timestamptz
);
INSERT INTO relay_leader (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS relay_members (
    id text PRIMARY KEY,
    url text NOT NULL,
    seen_at timestamptz NOT NULL
);
"""

# The WHERE clause is ``relay.domain.leadership.may_acquire``.
_ACQUIRE = """
UPDATE relay_leader
   SET holder = $1, holder_url = $2, epoch = epoch + 1,
       acquired_at = clock_timestamp(), renewed_at = clock_timestamp(),
       expires_at = clock_timestamp() + make_interval(secs => $3),
       changed_at = clock_timestamp()
 WHERE id = 1 AND (holder IS NULL OR holder = $1 OR expires_at < clock_timestamp())
RETURNING epoch
"""

_RENEW = """
UPDATE relay_leader
   SET renewed_at = clock_timestamp(), expires_at = clock_timestamp() + make_interval(secs => $3)
 WHERE id = 1 AND holder = $1 AND epoch = $2
RETURNING epoch
"""

_RELEASE = """
UPDATE relay_leader
   SET holder = NULL, holder_url = NULL, expires_at = clock_timestamp(),
       changed_at = clock_timestamp()
 WHERE id = 1 AND holder = $1 AND epoch = $2
RETURNING epoch
"""

_SEEN = """
INSERT INTO relay_members (id, url, seen_at) VALUES ($1, $2, clock_timestamp())
ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, seen_at = EXCLUDED.seen_at
"""

# Members silent for an hour are forgotten (a killed process never deletes its row).
_FORGET = "DELETE FROM relay_members WHERE seen_at < clock_timestamp() - interval '1 hour'"

_READ_LEASE = """
SELECT holder, holder_url, epoch, acquired_at, renewed_at, expires_at, changed_at,
       clock_timestamp() AS now
  FROM relay_leader WHERE id = 1
"""

_ELECTION_NAME = "relay "

_READ_MEMBERS = "SELECT id, url, seen_at FROM relay_members ORDER BY id"

# The fence, run first in every write transaction of the active (``relay.store.thread``).
# FOR SHARE: a successor's acquiring UPDATE waits for the writes in flight, and every write
# of this process after it sees the new epoch.
FENCE = "SELECT epoch FROM relay_leader WHERE id = 1 FOR SHARE"


def member_id() -> str:
    """This process's name in the election: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _as_datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def _lease(row: Any) -> Lease:
    return Lease(
        holder=row["holder"],
        holder_url=row["holder_url"],
        epoch=int(row["epoch"]),
        acquired_at=_as_datetime(row["acquired_at"]),
        renewed_at=_as_datetime(row["renewed_at"]),
        expires_at=_as_datetime(row["expires_at"]),
        changed_at=_as_datetime(row["changed_at"]),
    )


class LeaseStore:
    """The election's statements, each a blocking call bounded by ``timeout`` seconds.

    Call from one thread at a time (the elector's); ``close`` from any.
    """

    def __init__(
        self,
        database_url: str,
        *,
        application_name: str = "relay election",
        idle_in_transaction_seconds: float = 10.0,
    ) -> None:
        self.database_url = database_url
        # Election connections are named "relay …" (and never "relay host=…", the name of a
        # relay before the election): ``hold_instance_lock`` tells them apart by it.
        if not application_name.startswith(_ELECTION_NAME):
            application_name = _ELECTION_NAME + application_name
        self._application_name = application_name[:63]
        self._server_settings = postgres_session_settings(idle_in_transaction_seconds)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="relay-election", daemon=True
        )
        self._thread.start()
        self._connection: Any = None
        self._closed = False

    # -- the statements ------------------------------------------------------------------------

    def ensure_tables(self, timeout: float) -> None:
        async def create(conn: Any) -> None:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1::int4, $2::int4)", *_CREATE_KEY)
                await conn.execute(_CREATE)

        self._call(create, timeout)

    def try_acquire(self, me: str, url: str, lease: float, timeout: float) -> int | None:
        """Take the lease if it is free, ours or expired; the new epoch, or None.

        The UPDATE waits for the fence's ``FOR SHARE`` of the active's writes in flight; it
        waits at most half of ``timeout`` (``lock_timeout``), then gives up for this round
        (None) on a healthy connection, and the next round tries again.
        """
        import asyncpg

        async def acquire(conn: Any) -> int | None:
            try:
                async with conn.transaction():
                    await conn.execute(f"SET LOCAL lock_timeout = {_lock_timeout_ms(timeout)}")
                    epoch = await conn.fetchval(_ACQUIRE, me, url, float(lease))
            except asyncpg.exceptions.LockNotAvailableError:
                return None
            return None if epoch is None else int(epoch)

        return self._call(acquire, timeout)

    def old_relay_holder(self, timeout: float) -> str | None:
        """The relay of the previous version holding the instance lock (as it named its
        connection), or None."""

        async def look(conn: Any) -> str | None:
            for row in await conn.fetch(_INSTANCE_LOCK_HOLDER, *INSTANCE_KEY):
                if (row["application_name"] or "").startswith(_OLD_RELAY_NAME):
                    return _describe(row)
            return None

        return self._call(look, timeout)

    def hold_instance_lock(self, timeout: float) -> str | None:
        """Hold the instance lock on this connection (if it does not already); None once
        held, else who holds it.

        Only the lease's holder calls this, so another elected relay holding the lock has
        been deposed (fenced, it writes nothing, but a stopped one keeps its session): its
        election session is ended and the lock taken. A relay of the previous version (or
        anything else) is left alone and named.
        """

        import asyncpg

        async def hold(conn: Any) -> str | None:
            if await conn.fetchval(_HOLDING_INSTANCE_LOCK, *INSTANCE_KEY):
                return None
            if await conn.fetchval(_TRY_INSTANCE_LOCK, *INSTANCE_KEY):
                return None
            rows = await conn.fetch(_INSTANCE_LOCK_HOLDER, *INSTANCE_KEY)
            if not rows:
                return "holder unknown"  # released between our attempt and this look
            row = rows[0]
            name = row["application_name"] or ""
            if not name.startswith(_ELECTION_NAME) or name.startswith(_OLD_RELAY_NAME):
                return _describe(row)
            try:
                await conn.fetchval("SELECT pg_terminate_backend($1)", row["pid"])
            except asyncpg.PostgresError:  # not permitted (another role): name it instead
                return _describe(row)
            for _ in range(20):  # the lock goes as the terminated backend exits
                if await conn.fetchval(_TRY_INSTANCE_LOCK, *INSTANCE_KEY):
                    return None
                await asyncio.sleep(0.05)
            return _describe(row)

        return self._call(hold, timeout)

    def renew(self, me: str, epoch: int, lease: float, timeout: float) -> bool:
        """Extend our lease; False when it is no longer ours (deposed)."""

        async def renew(conn: Any) -> bool:
            return await conn.fetchval(_RENEW, me, epoch, float(lease)) is not None

        return self._call(renew, timeout)

    def release(self, me: str, epoch: int, timeout: float) -> bool:
        """Give the lease up if it is still ours; whether it was."""

        async def release(conn: Any) -> bool:
            released = await conn.fetchval(_RELEASE, me, epoch) is not None
            if await conn.fetchval(_HOLDING_INSTANCE_LOCK, *INSTANCE_KEY):
                await conn.fetchval("SELECT pg_advisory_unlock($1::int4, $2::int4)", *INSTANCE_KEY)
            return released

        return self._call(release, timeout)

    def seen(self, me: str, url: str, timeout: float) -> None:
        """Say this member is alive (and forget members long silent)."""

        async def seen(conn: Any) -> None:
            await conn.execute(_SEEN, me, url)
            await conn.execute(_FORGET)

        self._call(seen, timeout)

    def leave(self, me: str, timeout: float) -> None:
        async def leave(conn: Any) -> None:
            await conn.execute("DELETE FROM relay_members WHERE id = $1", me)

        self._call(leave, timeout)

    def read(self, timeout: float) -> tuple[Lease, list[Member], datetime]:
        """The leader row, the members and the database's time, in one round trip each."""

        async def read(conn: Any) -> tuple[Lease, list[Member], datetime]:
            row = await conn.fetchrow(_READ_LEASE)
            members = [
                Member(id=m["id"], url=m["url"], seen_at=m["seen_at"])
                for m in await conn.fetch(_READ_MEMBERS)
            ]
            return _lease(row), members, row["now"]

        return self._call(read, timeout)

    # -- the connection ------------------------------------------------------------------------

    def _call(self, statement: Callable[[Any], Coroutine[Any, Any, T]], timeout: float) -> T:
        if self._closed:
            raise ConnectionError("the election's connection is closed")

        async def run() -> T:
            if self._connection is None or self._connection.is_closed():
                self._connection = await connect(
                    self.database_url,
                    timeout,
                    {**self._server_settings, "application_name": self._application_name},
                )
            return await statement(self._connection)

        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(run(), timeout), self._loop)
        try:
            return future.result(timeout + 1)
        except BaseException:
            # Whatever failed (a timeout, a broken socket, a query error), the next call
            # starts on a fresh connection rather than one in an unknown state.
            future.cancel()
            self._drop()
            raise

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(connection.terminate)

    def close(self) -> None:
        """Close the connection and end the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_close(connection), self._loop).result(5)
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()


async def _close(connection: Any) -> None:
    try:
        await asyncio.wait_for(connection.close(), 2)
    except Exception:
        connection.terminate()
    await asyncio.sleep(0)  # let the transport's close callbacks run before the loop stops


def _lock_timeout_ms(timeout: float) -> int:
    return max(int(timeout * 500), 50)


def _describe(row: Any) -> str:
    """A lock holder as the instance lock named it: application_name, address, pid."""
    name = row["application_name"] or "unnamed"
    where = f" from {row['addr']}" if row["addr"] else ""
    return f"{name}{where}, backend pid {row['pid']}"


async def connect(database_url: str, timeout: float, server_settings: dict[str, str]) -> Any:
    """An asyncpg connection to ``database_url`` with ``server_settings``."""
    import asyncpg
    from tortoise.backends.base.config_generator import expand_db_url

    # tortoise's own URL parsing, so its query options (minsize, schema …) are not handed
    # to asyncpg as server settings.
    credentials = expand_db_url(database_url)["credentials"]
    options = {"ssl": credentials["ssl"]} if credentials.get("ssl") is not None else {}
    return await asyncpg.connect(
        host=credentials.get("host"),
        port=credentials.get("port"),
        user=credentials.get("user"),
        password=credentials.get("password"),
        database=credentials.get("database"),
        timeout=timeout,
        server_settings=server_settings,
        **options,
    )
