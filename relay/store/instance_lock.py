"""One relay per SQLite store: a lock held for the life of the process, taken before
migrations run.

relay keeps state in its actors and trusts that it is the store's only writer: a second
process on the same database hands out commands the first settled and leaves leases held.
On SQLite, ``acquire_instance_lock`` refuses the second one: ``fcntl.flock`` on
``PATH.lock`` next to the database file; the holder writes its host and pid into it. The
kernel drops the lock when the process ends, however it ends.

PostgreSQL has no instance lock: its relays elect one active process (``relay.election``),
and the others serve as standbys.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import Protocol

from relay.store.schema import sqlite_path


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
        OSError: the lock file cannot be opened.
        ValueError: not a SQLite database (PostgreSQL elects instead).
    """
    path = sqlite_path(database_url)
    if path is None:
        raise ValueError("only a SQLite store has an instance lock")
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
