"""metadata.git: ahead/behind, changed files and dirtiness of a workspace, from real git."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from relay.daemon import worktrees
from relay.daemon.git import Git
from relay.daemon.git_facts import MAX_CHANGED_FILES, facts, workspace_facts
from tests.daemon.conftest import FakeRelay
from tests.daemon.repos import add_worktree, commit, git

pytestmark = pytest.mark.usefixtures("repo")

GIT = Git(timeout=30)


def clean(found: dict[str, Any] | None) -> dict[str, Any]:
    """The facts without their time (checked separately)."""
    assert found is not None
    assert isinstance(found.pop("checkedAt"), int)
    return found


async def test_a_fresh_worktree_has_nothing_to_say(repo: Path, base_dir: Path) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    before = int(time.time() * 1000)
    found = await workspace_facts(GIT, wt, "main")
    assert before <= found["checkedAt"] <= int(time.time() * 1000)
    assert clean(found) == {
        "ahead": 0,
        "behind": 0,
        "changedFiles": [],
        "changedFilesTotal": 0,
        "dirty": False,
    }


async def test_commits_on_both_sides_count_ahead_and_behind(repo: Path, base_dir: Path) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    commit(wt, "b.txt", "b\n")
    commit(wt, "a.txt", "a\n")
    commit(repo, "main-only.txt", "m\n")
    assert clean(await workspace_facts(GIT, wt, "main")) == {
        "ahead": 2,
        "behind": 1,
        # What the branch changed since it left main; not main's own new file.
        "changedFiles": ["a.txt", "b.txt"],
        "changedFilesTotal": 2,
        "dirty": False,
    }


async def test_uncommitted_and_untracked_changes_are_dirty(repo: Path, base_dir: Path) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    commit(wt, "a.txt", "a\n")
    (wt / "a.txt").write_text("changed again\n")
    (wt / "README.md").write_text("edited\n")
    (wt / "new").mkdir()
    (wt / "new" / "untracked.txt").write_text("u\n")
    assert clean(await workspace_facts(GIT, wt, "main")) == {
        "ahead": 1,
        "behind": 0,
        "changedFiles": ["README.md", "a.txt", "new/untracked.txt"],
        "changedFilesTotal": 3,
        "dirty": True,
    }


async def test_the_list_is_bounded_and_the_total_is_not(repo: Path, base_dir: Path) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    for n in range(MAX_CHANGED_FILES + 50):
        (wt / f"f{n:03}.txt").write_text(f"{n}\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-q", "-m", "many")
    (wt / "zz-dirty.txt").write_text("x\n")
    found = await workspace_facts(GIT, wt, "main")
    assert found["changedFilesTotal"] == MAX_CHANGED_FILES + 51
    assert len(found["changedFiles"]) == MAX_CHANGED_FILES
    assert found["changedFiles"][:2] == ["f000.txt", "f001.txt"]
    assert found["dirty"] is True


def test_facts_sort_and_merge_both_sources() -> None:
    assert facts(ahead=1, behind=0, committed=["b", "a"], uncommitted=["a", "c"], checked_at=5) == {
        "ahead": 1,
        "behind": 0,
        "changedFiles": ["a", "b", "c"],
        "changedFilesTotal": 3,
        "dirty": True,
        "checkedAt": 5,
    }


async def test_git_failing_gives_no_facts(repo: Path, base_dir: Path) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    assert await worktrees.git_facts(GIT, wt, "no-such-ref") is None


async def test_create_reports_the_facts_in_metadata_git(
    repo: Path, make_context: Any, relay_fake: FakeRelay
) -> None:
    result = await worktrees.create(
        make_context("workspace.create"),
        {"repoRoot": str(repo), "branch": "b1", "workspaceId": "ws-1", "metadata": {"k": "v"}},
    )
    [record] = relay_fake.workspaces
    assert record["metadata"]["k"] == "v"
    assert clean(record["metadata"]["git"]) == {
        "ahead": 0,
        "behind": 0,
        "changedFiles": [],
        "changedFilesTotal": 0,
        "dirty": False,
    }
    assert result["git"]["changedFilesTotal"] == 0


async def test_reconcile_of_a_ready_workspace_reports_its_facts(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    commit(wt, "a.txt", "a\n")
    commit(repo, "main-only.txt", "m\n")
    result = await worktrees.reconcile(
        make_context("workspace.reconcile"),
        {"workspaceId": "ws-1", "repoRoot": str(repo), "worktreePath": str(wt), "branch": "feat"},
    )
    assert result["status"] == "ready"
    assert clean(result["git"]) == {
        "ahead": 1,
        "behind": 1,
        "changedFiles": ["a.txt"],
        "changedFilesTotal": 1,
        "dirty": False,
    }


async def test_reconcile_of_a_dirty_workspace_reports_its_facts(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    (wt / "wip.txt").write_text("wip\n")
    result = await worktrees.reconcile(
        make_context("workspace.reconcile"),
        {"workspaceId": "ws-1", "repoRoot": str(repo), "worktreePath": str(wt), "branch": "feat"},
    )
    assert result["status"] == "active"
    assert result["git"]["changedFiles"] == ["wip.txt"]
    assert result["git"]["dirty"] is True


async def test_a_removed_workspace_reports_no_facts(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    result = await worktrees.reconcile(
        make_context("workspace.reconcile"),
        {"workspaceId": "ws-1", "repoRoot": str(repo), "worktreePath": str(wt), "branch": "feat"},
    )
    assert result["removed"] is True
    assert "git" not in result
