"""Which store failures are outages (503 ``store unavailable``) and which stay what they are."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from tortoise.exceptions import (
    DBConnectionError,
    IntegrityError,
    OperationalError,
    TransactionManagementError,
)

from relay.errors import Unavailable
from relay.store.faults import STORE_UNAVAILABLE, is_outage, store_error


def sqlite_error(code: int, message: str) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


def wrapped_like_tortoise_sqlite(inner: BaseException) -> OperationalError:
    """tortoise's SQLite client raises its wrapper inside ``except``, without ``from``."""
    try:
        raise inner
    except BaseException as exc:
        try:
            raise OperationalError(exc) from None
        except OperationalError as wrapper:
            wrapper.__cause__ = None
            wrapper.__suppress_context__ = False
            wrapper.__context__ = exc
            return wrapper


OUTAGES = [
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
    OSError(113, "No route to host"),
    TimeoutError(),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
    asyncpg.exceptions.ConnectionFailureError("failure"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.InterfaceError(
        "cannot call Connection.transaction(): connection has been released back to the pool"
    ),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.TooManyConnectionsError("too many clients"),
    asyncpg.exceptions.DiskFullError("could not extend file"),
    DBConnectionError("Can't establish connection"),
    sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full"),
    sqlite_error(sqlite3.SQLITE_IOERR_WRITE, "disk I/O error"),
    sqlite_error(sqlite3.SQLITE_CANTOPEN, "unable to open database file"),
    sqlite_error(sqlite3.SQLITE_BUSY, "database is locked"),
    OperationalError(sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full")),
    wrapped_like_tortoise_sqlite(sqlite_error(sqlite3.SQLITE_IOERR, "disk I/O error")),
    TransactionManagementError(asyncpg.InterfaceError("connection is closed")),
]

NOT_OUTAGES = [
    IntegrityError(asyncpg.exceptions.UniqueViolationError("duplicate key")),
    IntegrityError(sqlite3.IntegrityError("UNIQUE constraint failed")),
    asyncpg.exceptions.UniqueViolationError("duplicate key"),
    sqlite_error(sqlite3.SQLITE_ERROR, "no such table: nope"),
    OperationalError(sqlite_error(sqlite3.SQLITE_ERROR, "near SELEC: syntax error")),
    OperationalError(asyncpg.exceptions.UndefinedTableError("relation does not exist")),
    TransactionManagementError("Transaction already finalised"),
    asyncpg.exceptions._base.DataError("invalid input for query argument $1"),
    KeyError("a bug"),
    ValueError("a bug"),
]


@pytest.mark.parametrize("error", OUTAGES, ids=repr)
def test_store_error_turns_an_outage_into_unavailable(error: BaseException) -> None:
    mapped = store_error(error)
    assert isinstance(mapped, Unavailable)
    assert mapped.message == STORE_UNAVAILABLE
    assert mapped.headers == {"Retry-After": "1"}
    assert mapped.__cause__ is error


@pytest.mark.parametrize("error", NOT_OUTAGES, ids=repr)
def test_store_error_keeps_integrity_errors_and_bugs(error: BaseException) -> None:
    assert store_error(error) is error


def test_a_bug_raised_while_handling_an_outage_is_still_a_bug() -> None:
    try:
        try:
            raise ConnectionResetError(104, "reset")
        except ConnectionResetError:
            raise KeyError("a bug") from None
    except KeyError as exc:
        bug = exc
    assert bug.__context__ is not None
    assert not is_outage(bug)


def test_a_failed_rollback_after_a_full_disk_is_an_outage() -> None:
    # SQLite rolls the whole transaction back on SQLITE_FULL; the savepoint's ROLLBACK TO
    # then fails, and that is the error the job raises.
    full = wrapped_like_tortoise_sqlite(
        sqlite_error(sqlite3.SQLITE_FULL, "database or disk is full")
    )
    try:
        try:
            raise full
        except OperationalError:
            # Implicit context, no ``from``: how the failed rollback carries the full disk.
            raise sqlite_error(sqlite3.SQLITE_ERROR, "no such savepoint: tortoise_savepoint_0")  # noqa: B904
    except sqlite3.OperationalError as exc:
        rollback_failed = exc
    assert is_outage(rollback_failed)
    assert not is_outage(sqlite_error(sqlite3.SQLITE_ERROR, "no such savepoint: sp"))


def test_unavailable_passes_through_unchanged() -> None:
    timed_out = Unavailable("store timed out")
    assert store_error(timed_out) is timed_out


def test_a_wrapper_cycle_ends() -> None:
    outer = OperationalError("outer")
    inner = OperationalError(outer)
    outer.__cause__ = inner
    assert not is_outage(outer)
