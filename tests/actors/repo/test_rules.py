"""Workspace rules: mergeable statuses, merge/cleanup/reconcile outcomes, lease expiry."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from relay.actors.repo import rules
from relay.domain.commands import Command
from relay.domain.workspaces import STATUSES, MergeLease, Workspace

WS = Workspace(
    id="w1",
    agent_id=None,
    orchestrator_id=None,
    repo_root="/r",
    source_cwd="/r",
    worktree_path="/r/w",
    branch="b",
    base_ref="main",
    base_sha=None,
    mode="isolated",
    status="merge_planned",
    metadata={"mergeCommandId": "cmd_1", "cleanupCommandId": "cmd_2"},
    created_at=0,
    updated_at=0,
)


def command(
    type_: str, status: str, result: Any = None, error: str | None = None, command_id: str = "cmd_1"
) -> Command:
    return Command(
        id=command_id,
        type=type_,
        source=None,
        target="o1",
        target_kind="orchestrator",
        correlation_id=None,
        params={"workspaceId": "w1"},
        status=status,  # type: ignore[arg-type]
        result=result,
        error=error,
        attempts=1,
        created_at=0,
        updated_at=0,
    )


@pytest.mark.parametrize("status", STATUSES)
def test_mergeable_statuses(status: str) -> None:
    expected = status in {"active", "ready", "review_requested", "conflict"}
    assert rules.may_start("merge", status) is expected


@pytest.mark.parametrize(
    ("status", "result", "expected"),
    [
        ("succeeded", {"merged": True}, "merged"),
        ("failed", {"conflict": True}, "conflict"),
        ("failed", {"conflict": False}, "ready"),
        ("failed", None, "ready"),
        ("cancelled", None, "ready"),
        ("expired", None, "ready"),
    ],
)
def test_merge_outcome(status: str, result: Any, expected: str) -> None:
    after = rules.merge_outcome(WS, command("workspace.merge", status, result), now=5)
    assert after is not None
    assert after.status == expected
    assert after.updated_at == 5


def test_merge_outcome_ignores_other_commands_and_statuses() -> None:
    assert (
        rules.merge_outcome(WS, command("workspace.merge", "succeeded", command_id="x"), 1) is None
    )
    ready = replace(WS, status="ready")
    assert rules.merge_outcome(ready, command("workspace.merge", "succeeded"), 1) is None


def test_cleanup_outcome_restores_the_previous_status_on_failure() -> None:
    ws = replace(
        WS,
        status="cleanup_requested",
        metadata={"cleanupCommandId": "cmd_2", "statusBeforeCleanup": "conflict"},
    )
    failed = rules.cleanup_outcome(
        ws, command("workspace.cleanup", "failed", command_id="cmd_2", error="dirty"), 1
    )
    assert failed is not None
    assert (failed.status, failed.metadata["cleanupError"]) == ("conflict", "dirty")
    done = rules.cleanup_outcome(
        ws, command("workspace.cleanup", "succeeded", command_id="cmd_2"), 1
    )
    assert done is not None
    assert done.status == "cleaned"


@pytest.mark.parametrize("status", STATUSES)
def test_reconcile_acts_only_on_live_workspaces(status: str) -> None:
    ws = replace(WS, status=status)  # type: ignore[arg-type]
    updated, removed = rules.reconcile_outcome(
        ws, command("workspace.reconcile", "succeeded", {"workspaceId": "w1", "removed": True}), 1
    )
    assert removed is (status in {"active", "ready"})
    assert updated is None


def test_reconcile_rejects_an_unknown_status() -> None:
    ws = replace(WS, status="active")
    updated, removed = rules.reconcile_outcome(
        ws, command("workspace.reconcile", "succeeded", {"workspaceId": "w1", "status": "bogus"}), 1
    )
    assert (updated, removed) == (None, False)


def test_lease_expiry_and_message() -> None:
    lease = MergeLease("/r", "w1", "dash", None, acquired_at=0, expires_at=100)
    assert not rules.lease_expired(lease, 99)
    assert rules.lease_expired(lease, 100)
    assert rules.lease_held_message(lease) == (
        "a merge is already in progress for /r (workspace w1); retry after it settles"
    )


def test_an_aborted_merge_returns_to_the_status_it_was_planned_from() -> None:
    ws = replace(WS, metadata={"mergeCommandId": "cmd_1", "statusBeforeMerge": "conflict"})
    assert rules.planned_for(ws, "cmd_1")
    assert not rules.planned_for(ws, "cmd_9")
    assert not rules.planned_for(replace(ws, status="merged"), "cmd_1")
    assert not rules.planned_for(None, "cmd_1")
    restored = rules.merge_aborted(ws, "no owner", 5)
    assert (restored.status, restored.metadata["mergeError"], restored.updated_at) == (
        "conflict",
        "no owner",
        5,
    )
    # A plan written before the status was remembered goes back to ready.
    assert rules.merge_aborted(WS, "x", 5).status == "ready"


def test_an_aborted_cleanup_returns_to_the_status_it_began_from() -> None:
    ws = replace(
        WS,
        status="cleanup_requested",
        metadata={"cleanupCommandId": "cmd_2", "statusBeforeCleanup": "review_requested"},
    )
    restored = rules.cleanup_aborted(ws, "cmd_2", "not queued", 5)
    assert restored is not None
    assert (restored.status, restored.metadata["cleanupError"]) == (
        "review_requested",
        "not queued",
    )
    assert rules.cleanup_aborted(ws, "cmd_other", "x", 5) is None
    assert rules.cleanup_aborted(replace(ws, status="cleaned"), "cmd_2", "x", 5) is None


@pytest.mark.parametrize(
    ("type_", "recorded_under", "moves"),
    [
        ("workspace.reconcile", "o1", True),  # the host it went to (o1) reports on its own
        ("workspace.reconcile", "o2", False),  # o1 reports on o2's worktree
        ("workspace.reconcile", None, True),  # recorded under no host: nothing to compare
        ("workspace.merge", "o2", True),  # the relay chose the host holding the paths
        ("workspace.cleanup", "o2", True),
    ],
)
def test_a_reconcile_settles_only_a_workspace_of_its_host(
    type_: str, recorded_under: str | None, moves: bool
) -> None:
    ws = replace(WS, orchestrator_id=recorded_under)
    assert rules.settles_here(ws, command(type_, "succeeded", {"removed": True})) is moves
