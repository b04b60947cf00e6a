"""The WAL is checkpointed from a thread of its own, not inside the writer's commits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from relay.store.checkpoint import BACKSTOP_PAGES, Checkpointer
from relay.store.schema import sqlite_path, tortoise_config


def wal_database(path: Path) -> sqlite3.Connection:
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
    writer.execute("CREATE TABLE t (v TEXT)")
    return writer


def test_a_passive_checkpoint_copies_the_whole_log_while_the_writer_stays_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "relay.sqlite3"
    writer = wal_database(path)
    for n in range(200):
        writer.execute("INSERT INTO t VALUES (?)", (f"row {n} " * 50,))
        writer.commit()
    reader = sqlite3.connect(path)

    busy, frames, done = Checkpointer.checkpoint(reader)

    assert busy == 0
    assert frames > 0
    assert done == frames  # nothing left for the writer to copy inside a commit
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (200,)
    reader.close()
    writer.close()


def test_the_thread_checkpoints_on_its_interval_and_stops(tmp_path: Path) -> None:
    path = tmp_path / "relay.sqlite3"
    writer = wal_database(path)
    writer.execute("INSERT INTO t VALUES ('x')")
    writer.commit()
    checkpointer = Checkpointer(str(path), interval=0.01)

    checkpointer.start()
    probe = sqlite3.connect(path)
    # Once the thread has run, a further checkpoint finds every frame already copied.
    for _ in range(500):
        _busy, frames, done = Checkpointer.checkpoint(probe)
        if frames == done:
            break
    checkpointer.stop()

    assert frames == done
    probe.close()
    writer.close()


def test_the_writer_keeps_only_a_backstop_autocheckpoint() -> None:
    config = tortoise_config("sqlite:///data/relay.sqlite3")
    credentials = config["connections"]["default"]["credentials"]

    assert credentials["wal_autocheckpoint"] == BACKSTOP_PAGES
    assert sqlite_path("sqlite:///data/relay.sqlite3") == "/data/relay.sqlite3"
    assert sqlite_path("postgres://u@h/db") is None


def test_a_failing_checkpoint_is_logged_and_left_for_next_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "not-a-database"
    path.write_bytes(b"this is not an SQLite file" * 100)
    connection = sqlite3.connect(path)

    assert Checkpointer.checkpoint(connection) == (1, -1, -1)
    assert any("checkpoint_failed" in record.getMessage() for record in caplog.records)
    connection.close()
