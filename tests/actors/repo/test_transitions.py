"""The workspace status machine as data: the table, and the refusal it gives."""

from __future__ import annotations

from dataclasses import replace

import pytest

from relay.actors.repo import rules
from relay.domain.workspaces import ACTIONS, STATUSES, MergeLease
from relay.errors import Conflict
from tests.actors.repo.test_rules import WS

# A literal copy of the contract (issue 18, item 5): editing the table by accident fails here.
EXPECTED: dict[str, list[str]] = {
    "status": [
        "active",
        "ready",
        "conflict",
        "review_requested",
        "merge_planned",
        "merged",
        "abandoned",
        "cleanup_requested",
        "cleaned",
    ],
    "conflict-found": ["active", "ready", "conflict", "review_requested", "merge_planned"],
    "request-review": ["active", "ready", "conflict", "review_requested"],
    "merge-plan": ["active", "ready", "conflict", "review_requested"],
    "merge": ["active", "ready", "conflict", "review_requested"],
    "abandon": ["active", "ready", "conflict", "review_requested"],
    "cleanup": [
        "active",
        "ready",
        "conflict",
        "review_requested",
        "merged",
        "abandoned",
        "cleanup_requested",
    ],
}

PAIRS = [(action, status) for action in ACTIONS for status in STATUSES]


def test_the_table_is_the_contracts() -> None:
    assert rules.transitions_json() == EXPECTED


def test_the_table_names_every_action_and_only_known_statuses() -> None:
    assert tuple(rules.TRANSITIONS) == ACTIONS
    for statuses in rules.TRANSITIONS.values():
        assert set(statuses) <= set(STATUSES)


@pytest.mark.parametrize(("action", "status"), PAIRS)
def test_check_action_follows_the_table(action: str, status: str) -> None:
    workspace = replace(WS, status=status)  # type: ignore[arg-type]
    if status in rules.TRANSITIONS[action]:
        rules.check_action(action, workspace)
        return
    with pytest.raises(Conflict) as refused:
        rules.check_action(action, workspace)
    assert refused.value.message == f"workspace is {status}; cannot {action}"


def test_an_unknown_action_starts_from_nowhere() -> None:
    assert not any(rules.may_start("rebase", status) for status in STATUSES)


def test_merge_is_what_the_table_says() -> None:
    assert frozenset(EXPECTED["merge"]) == rules.MERGEABLE


@pytest.mark.parametrize(
    ("status", "remembered", "expected"),
    [
        ("ready", None, "ready"),
        ("merged", None, "merged"),
        ("cleanup_requested", "abandoned", "abandoned"),
        ("cleanup_requested", None, "ready"),
        ("cleanup_requested", "cleanup_requested", "ready"),
        ("cleanup_requested", "bogus", "ready"),
    ],
)
def test_a_repeated_cleanup_keeps_the_status_to_return_to(
    status: str, remembered: str | None, expected: str
) -> None:
    metadata = {"statusBeforeCleanup": remembered} if remembered else {}
    workspace = replace(WS, status=status, metadata=metadata)  # type: ignore[arg-type]
    assert rules.status_before_cleanup(workspace) == expected


def test_the_merge_queue_groups_by_repo_oldest_waiting_first() -> None:
    lease = MergeLease(
        repo_root="/r/b",
        workspace_id="held",
        holder="me",
        command_id="cmd_1",
        acquired_at=1,
        expires_at=2,
    )
    workspaces = [
        replace(WS, id="new", repo_root="/r/a", status="ready", updated_at=30),
        replace(WS, id="old", repo_root="/r/a", status="review_requested", updated_at=10),
        replace(WS, id="tie-b", repo_root="/r/a", status="ready", updated_at=20),
        replace(WS, id="tie-a", repo_root="/r/a", status="ready", updated_at=20),
        replace(WS, id="busy", repo_root="/r/c", status="active", updated_at=1),
        replace(WS, id="done", repo_root="/r/c", status="merged", updated_at=1),
    ]
    entries = rules.merge_queue([lease], workspaces)
    assert [(e.repo_root, e.lease, [w.id for w in e.waiting]) for e in entries] == [
        ("/r/a", None, ["old", "tie-a", "tie-b", "new"]),
        ("/r/b", lease, []),
    ]
    assert entries[1].to_json() == {"repoRoot": "/r/b", "lease": lease.to_json(), "waiting": []}
