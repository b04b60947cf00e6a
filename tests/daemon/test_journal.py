"""The journal: what it records, what survives a reopen (a crash), what comes back."""

from __future__ import annotations

import stat
from pathlib import Path

from relay.daemon.journal import Journal, SessionRecord
from relay.daemon.outcome import Outcome


def reopen(journal: Journal) -> Journal:
    journal.close()
    return Journal(journal.path)


def test_receive_records_a_new_command_once(journal: Journal) -> None:
    entry, new = journal.receive("cmd_1", "workspace.merge", {"branch": "b"})
    assert new
    assert (entry.phase, entry.type, entry.params) == (
        "received",
        "workspace.merge",
        {"branch": "b"},
    )
    again, new_again = journal.receive("cmd_1", "workspace.merge", {"branch": "other"})
    assert not new_again
    assert again.params == {"branch": "b"}


def test_recorded_outcome_is_replayed_after_reopen(journal: Journal) -> None:
    journal.receive("cmd_1", "workspace.merge", {})
    journal.executing("cmd_1")
    journal.finish("cmd_1", Outcome.succeeded({"merged": True, "headSha": "abc"}))
    journal = reopen(journal)
    entry = journal.get("cmd_1")
    assert entry is not None
    assert entry.outcome == Outcome.succeeded({"merged": True, "headSha": "abc"})
    assert [e.id for e in journal.unreported()] == ["cmd_1"]
    journal.reported("cmd_1")
    assert journal.unreported() == []
    journal.close()


def test_failed_outcome_keeps_error_and_result(journal: Journal) -> None:
    journal.receive("cmd_1", "workspace.merge", {})
    journal.finish("cmd_1", Outcome.failed("merge conflict in a.txt", {"conflict": True}))
    entry = journal.get("cmd_1")
    assert entry is not None
    assert entry.outcome == Outcome.failed("merge conflict in a.txt", {"conflict": True})


def test_outcome_is_recorded_once(journal: Journal) -> None:
    journal.receive("cmd_1", "x", {})
    journal.finish("cmd_1", Outcome.succeeded({"n": 1}))
    journal.finish("cmd_1", Outcome.failed("late"))
    entry = journal.get("cmd_1")
    assert entry is not None
    assert entry.outcome == Outcome.succeeded({"n": 1})


def test_interrupted_commands_survive_a_crash(journal: Journal) -> None:
    journal.receive("cmd_started", "workspace.merge", {"n": 1})
    journal.executing("cmd_started")
    journal.checkpoint("cmd_started", {"phase": "rebasing"})
    journal.receive("cmd_waiting", "agent.spawn", {})
    journal.receive("cmd_done", "x", {})
    journal.finish("cmd_done", Outcome.succeeded(None))
    journal = reopen(journal)
    unfinished = {entry.id: entry for entry in journal.unfinished()}
    assert set(unfinished) == {"cmd_started", "cmd_waiting"}
    assert unfinished["cmd_started"].phase == "executing"
    assert unfinished["cmd_started"].runs == 1
    assert unfinished["cmd_started"].checkpoint == {"phase": "rebasing"}
    assert unfinished["cmd_waiting"].phase == "received"
    journal.close()


def test_prune_forgets_only_reported_old_commands(journal: Journal) -> None:
    for command_id in ("cmd_reported", "cmd_unreported", "cmd_open"):
        journal.receive(command_id, "x", {})
    journal.finish("cmd_reported", Outcome.succeeded(None))
    journal.reported("cmd_reported")
    journal.finish("cmd_unreported", Outcome.succeeded(None))
    assert journal.prune(before_ms=2**62) == 1
    assert journal.get("cmd_reported") is None
    assert journal.get("cmd_unreported") is not None
    assert journal.get("cmd_open") is not None


def test_sessions_are_kept(journal: Journal) -> None:
    record = SessionRecord(
        name="relay-sp_1", agent_id="a1", provider="command", cwd="/x", meta={"label": "L"}
    )
    journal.put_session(record)
    journal = reopen(journal)
    [kept] = journal.sessions()
    assert (kept.name, kept.agent_id, kept.meta) == ("relay-sp_1", "a1", {"label": "L"})
    journal.drop_session("relay-sp_1")
    assert journal.sessions() == []
    journal.close()


def test_journal_file_is_private(journal: Journal) -> None:
    assert stat.S_IMODE(Path(journal.path).stat().st_mode) == 0o600
