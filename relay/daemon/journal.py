"""The local journal (``BASE/.relay/journal.sqlite3``): exactly once on the host.

Each command is recorded when it arrives (``received``), again before it touches
anything (``executing``, with optional checkpoints while it runs), and its outcome
before the outcome is reported (``done``), then the report itself (``reported``).
A redelivered command whose outcome is recorded is never run again: the recorded
outcome is re-sent. One left ``received`` or ``executing`` by a crash is resolved
at the next start. The same file keeps the tmux sessions the daemon manages.

SQLite from the standard library, WAL with ``synchronous=FULL`` (every commit is
fsync'd). Methods block: call them from a worker thread on the trio side.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from relay.daemon.outcome import JSON, Outcome

Phase = Literal["received", "executing", "done"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    params TEXT NOT NULL,
    phase TEXT NOT NULL,
    status TEXT,
    result TEXT,
    error TEXT,
    checkpoint TEXT,
    runs INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL,
    finished_at INTEGER,
    reported_at INTEGER
);
CREATE INDEX IF NOT EXISTS commands_phase ON commands (phase, reported_at);
CREATE TABLE IF NOT EXISTS sessions (
    name TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL,
    spawn_request_id TEXT,
    provider TEXT NOT NULL,
    cwd TEXT NOT NULL,
    workspace_id TEXT,
    started_at INTEGER NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}'
);
"""


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    type: str
    params: JSON
    phase: Phase
    status: str | None
    result: Any
    error: str | None
    checkpoint: JSON | None
    runs: int
    received_at: int
    finished_at: int | None
    reported_at: int | None

    @property
    def outcome(self) -> Outcome | None:
        if self.phase != "done" or self.status not in ("succeeded", "failed"):
            return None
        if self.status == "succeeded":
            return Outcome.succeeded(self.result)
        return Outcome.failed(self.error or "failed", self.result)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    name: str
    agent_id: str
    provider: str
    cwd: str
    spawn_request_id: str | None = None
    workspace_id: str | None = None
    started_at: int = 0
    meta: JSON = field(default_factory=dict)


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        path.chmod(0o600)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- commands ---------------------------------------------------------------------------

    def receive(self, command_id: str, type_: str, params: JSON) -> tuple[Entry, bool]:
        """Record an arriving command; returns its entry and whether it is new here."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO commands (id, type, params, phase, received_at)"
                " VALUES (?, ?, ?, 'received', ?)",
                (command_id, type_, _dump(params), now_ms()),
            )
            entry = self._get(command_id)
        assert entry is not None
        return entry, cursor.rowcount == 1

    def executing(self, command_id: str) -> None:
        """Mark that the command is about to touch things (before it does)."""
        self._update(
            "UPDATE commands SET phase='executing', runs=runs+1 WHERE id=? AND phase!='done'",
            (command_id,),
        )

    def checkpoint(self, command_id: str, data: JSON) -> None:
        """Record how far a running command got (read back if it is resumed)."""
        self._update("UPDATE commands SET checkpoint=? WHERE id=?", (_dump(data), command_id))

    def finish(self, command_id: str, outcome: Outcome) -> None:
        """Record the outcome; from now on this command is never run again."""
        self._update(
            "UPDATE commands SET phase='done', status=?, result=?, error=?, finished_at=?"
            " WHERE id=? AND phase!='done'",
            (outcome.status, _dump(outcome.result), outcome.error, now_ms(), command_id),
        )

    def reported(self, command_id: str) -> None:
        self._update("UPDATE commands SET reported_at=? WHERE id=?", (now_ms(), command_id))

    def get(self, command_id: str) -> Entry | None:
        with self._lock:
            return self._get(command_id)

    def unfinished(self) -> list[Entry]:
        """Commands received or executing with no recorded outcome (a crash interrupted them)."""
        return self._select("WHERE phase != 'done' ORDER BY received_at")

    def unreported(self) -> list[Entry]:
        """Commands whose recorded outcome the relay has not confirmed."""
        return self._select("WHERE phase = 'done' AND reported_at IS NULL ORDER BY finished_at")

    def prune(self, before_ms: int) -> int:
        """Forget settled, reported commands finished before ``before_ms``."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM commands WHERE phase='done' AND reported_at IS NOT NULL"
                " AND finished_at < ?",
                (before_ms,),
            )
        return cursor.rowcount

    # -- sessions ---------------------------------------------------------------------------

    def put_session(self, record: SessionRecord) -> None:
        self._update(
            "INSERT OR REPLACE INTO sessions"
            " (name, agent_id, spawn_request_id, provider, cwd, workspace_id, started_at, meta)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.name,
                record.agent_id,
                record.spawn_request_id,
                record.provider,
                record.cwd,
                record.workspace_id,
                record.started_at or now_ms(),
                _dump(record.meta),
            ),
        )

    def drop_session(self, name: str) -> None:
        self._update("DELETE FROM sessions WHERE name=?", (name,))

    def sessions(self) -> list[SessionRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, agent_id, provider, cwd, spawn_request_id, workspace_id,"
                " started_at, meta FROM sessions ORDER BY started_at"
            ).fetchall()
        return [
            SessionRecord(
                name=row[0],
                agent_id=row[1],
                provider=row[2],
                cwd=row[3],
                spawn_request_id=row[4],
                workspace_id=row[5],
                started_at=row[6],
                meta=_load(row[7]) or {},
            )
            for row in rows
        ]

    # -- internals --------------------------------------------------------------------------

    def _update(self, sql: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(sql, args)

    def _get(self, command_id: str) -> Entry | None:
        rows = self._db.execute(f"{_COLUMNS} WHERE id=?", (command_id,)).fetchall()
        return _entry(rows[0]) if rows else None

    def _select(self, where: str) -> list[Entry]:
        with self._lock:
            rows = self._db.execute(f"{_COLUMNS} {where}").fetchall()
        return [_entry(row) for row in rows]


_COLUMNS = (
    "SELECT id, type, params, phase, status, result, error, checkpoint, runs, received_at,"
    " finished_at, reported_at FROM commands"
)


def _entry(row: tuple[Any, ...]) -> Entry:
    return Entry(
        id=row[0],
        type=row[1],
        params=_load(row[2]) or {},
        phase=row[3],
        status=row[4],
        result=_load(row[5]),
        error=row[6],
        checkpoint=_load(row[7]),
        runs=row[8],
        received_at=row[9],
        finished_at=row[10],
        reported_at=row[11],
    )


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _load(raw: str | None) -> Any:
    return None if raw is None else json.loads(raw)
