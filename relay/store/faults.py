"""Which store failures mean "the database is unreachable or unusable", not "a bug".

A client should see an outage (PostgreSQL refused or lost the connection, SQLite's disk
is full or failing) as 503 ``store unavailable`` with ``Retry-After`` and try again; an
integrity error or a programming error must stay what it is. The store thread maps every
failed job through ``store_error`` before it reaches a caller, so no route, actor or flow
has to know what a driver raises.
"""

from __future__ import annotations

import sqlite3

import asyncpg
from tortoise.exceptions import BaseORMException, DBConnectionError

from relay.errors import Unavailable

STORE_UNAVAILABLE = "store unavailable"

# asyncpg: the connection is gone or was never made (class 08 and the client-side
# "connection is closed" / "released back to the pool" family), the server is shutting
# down or refusing connections (57P01-57P03), or it is out of disk, memory or slots (53).
_ASYNCPG_OUTAGES: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InsufficientResourcesError,
)

# asyncpg.InterfaceError also covers what a caller got wrong, not the connection: a value
# it cannot encode or a bad setting (both also ValueErrors), a feature it lacks. Bugs: 500.
_ASYNCPG_NOT_OUTAGES: tuple[type[BaseException], ...] = (
    ValueError,
    asyncpg.exceptions.UnsupportedClientFeatureError,
)

# SQLite primary result codes (the low byte of an extended code) that say the file or
# the disk failed, or the database stayed locked past busy_timeout, as opposed to a
# statement being wrong (SQLITE_ERROR) or a constraint failing (SQLITE_CONSTRAINT).
_SQLITE_OUTAGE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
    }
)

# Database errors: tortoise's wrappers (an outage or not depending on what they wrap), and
# driver errors raised while cleaning up after an outage (SQLite rolls the whole
# transaction back on a full disk, so the savepoint's ROLLBACK TO that follows fails with
# "no such savepoint"): either way, look at what they carry.
_DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    BaseORMException,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)

_MAX_DEPTH = 8  # a cause chain longer than this is not a wrapped driver error


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` says the database could not be reached or could not write.

    Looks through database errors to what they carry (tortoise's ``OperationalError(exc)``
    and friends wrap the driver's error; a failed rollback carries the failure it was
    cleaning up after) but not through anything else: a bug raised while handling an
    outage is still a bug.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    for _ in range(_MAX_DEPTH):
        if current is None or id(current) in seen:
            return False
        seen.add(id(current))
        if _is_outage_itself(current):
            return True
        if not isinstance(current, _DATABASE_ERRORS):
            return False
        current = _wrapped(current)
    return False


def store_error(exc: BaseException) -> BaseException:
    """What a store job's caller receives for ``exc``: ``Unavailable`` for an outage."""
    if isinstance(exc, Unavailable) or not is_outage(exc):
        return exc
    error = Unavailable(STORE_UNAVAILABLE)
    error.__cause__ = exc
    return error


def _is_outage_itself(exc: BaseException) -> bool:
    if isinstance(exc, DBConnectionError):
        return True
    if isinstance(exc, _ASYNCPG_NOT_OUTAGES):
        return False
    if isinstance(exc, _ASYNCPG_OUTAGES):
        return True
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(code, int) and (code & 0xFF) in _SQLITE_OUTAGE_CODES
    # Refused, reset, unreachable host, DNS failure, connect timeout: all OSError. Last,
    # because asyncpg's connection errors are not OSErrors but some of its others are.
    return isinstance(exc, OSError)


def _wrapped(exc: BaseException) -> BaseException | None:
    """What a database error carries: its cause, first argument, or the error it replaced."""
    if exc.__cause__ is not None:
        return exc.__cause__
    if exc.args and isinstance(exc.args[0], BaseException):
        return exc.args[0]
    # tortoise's SQLite client raises its wrapper inside the except block without
    # ``from``: the driver error is only the implicit context.
    return exc.__context__
