"""Moving SQLite's write-ahead log into the database file off the commit path.

In WAL mode the connection whose commit crosses ``wal_autocheckpoint`` pages copies the
log back into the database file and fsyncs it, inside that commit. relay has one writing
connection, the group-commit writer, so every request waiting on that commit stalled for
the checkpoint too: with each command touching a dozen pages over three commits, that
was several times a second under load.

A ``Checkpointer`` runs ``PRAGMA wal_checkpoint(PASSIVE)`` from its own thread and
connection every ``interval`` seconds. PASSIVE never waits for, nor blocks, the writer,
and sqlite3 releases the GIL while it copies, so the work runs beside the relay instead
of inside its commits. The writer keeps a large ``wal_autocheckpoint`` as a backstop in
case this thread cannot keep up.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("relay.store")

# Pages (4 KiB): the writer checkpoints itself only past ~40 MB of log.
BACKSTOP_PAGES = 10_000


class Checkpointer:
    def __init__(self, path: str, *, interval: float = 1.0) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="relay-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self._path, check_same_thread=False)
        except sqlite3.Error as exc:
            log.error("checkpoint_unavailable error=%r", exc)
            return
        try:
            connection.execute("PRAGMA busy_timeout=0")  # PASSIVE: never wait for the writer
            while not self._stop.wait(self._interval):
                self.checkpoint(connection)
        finally:
            connection.close()

    @staticmethod
    def checkpoint(connection: sqlite3.Connection) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, log frames, frames checkpointed)."""
        try:
            busy, frames, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # e.g. the file is locked for a migration: next time
            log.warning("checkpoint_failed error=%r", exc)
            return (1, -1, -1)
        return int(busy), int(frames), int(done)
