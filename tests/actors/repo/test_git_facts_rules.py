"""A reconcile's git facts land in the workspace's metadata.git."""

from __future__ import annotations

from dataclasses import replace

import pytest

from relay.actors.repo import rules
from relay.domain.workspaces import STATUSES, Workspace
from tests.actors.repo.test_rules import WS, command

FACTS = {
    "ahead": 2,
    "behind": 1,
    "changedFiles": ["a.txt"],
    "changedFilesTotal": 1,
    "dirty": False,
    "checkedAt": 7,
}


def reconciled(status: str, result: dict[str, object]) -> tuple[Workspace | None, bool]:
    ws = replace(WS, status=status, updated_at=3)  # type: ignore[arg-type]
    return rules.reconcile_outcome(ws, command("workspace.reconcile", "succeeded", result), 9)


@pytest.mark.parametrize("status", ["active", "ready"])
def test_a_live_workspace_moves_and_keeps_the_facts_once(status: str) -> None:
    updated, removed = reconciled(status, {"workspaceId": "w1", "status": "ready", "git": FACTS})
    assert removed is False
    assert updated is not None
    assert updated.status == "ready"
    assert updated.metadata["git"] == FACTS
    assert updated.metadata["reconcileResult"] == {"workspaceId": "w1", "status": "ready"}


@pytest.mark.parametrize("status", [s for s in STATUSES if s not in ("active", "ready")])
def test_a_moved_on_workspace_keeps_its_status_and_order_but_gets_the_facts(status: str) -> None:
    updated, removed = reconciled(status, {"workspaceId": "w1", "status": "ready", "git": FACTS})
    assert removed is False
    assert updated is not None
    assert (updated.status, updated.updated_at) == (status, 3)
    assert updated.metadata["git"] == FACTS


def test_the_same_facts_again_change_nothing() -> None:
    ws = replace(WS, status="merged", metadata={"git": FACTS})
    result = {"workspaceId": "w1", "status": "ready", "git": FACTS}
    assert rules.reconcile_outcome(ws, command("workspace.reconcile", "succeeded", result), 9) == (
        None,
        False,
    )


@pytest.mark.parametrize("git", [None, "yes", ["a"]])
def test_facts_that_are_not_an_object_are_ignored(git: object) -> None:
    updated, _removed = reconciled("merged", {"workspaceId": "w1", "status": "ready", "git": git})
    assert updated is None


def test_a_failed_reconcile_brings_no_facts() -> None:
    ws = replace(WS, status="review_requested")
    failed = command("workspace.reconcile", "failed", {"git": FACTS})
    assert rules.reconcile_outcome(ws, failed, 9) == (None, False)
