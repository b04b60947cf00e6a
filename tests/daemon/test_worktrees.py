"""workspace.create / cleanup / reconcile against real repositories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relay.daemon import worktrees
from relay.daemon.outcome import CommandFailed
from relay.daemon.paths import PathRefused
from tests.daemon.conftest import FakeRelay
from tests.daemon.repos import add_worktree, commit, git, make_repo

pytestmark = pytest.mark.usefixtures("repo")


def workspace_params(repo: Path, wt: Path, branch: str, **extra: Any) -> dict[str, Any]:
    return {
        "workspaceId": "ws-1",
        "repoRoot": str(repo),
        "worktreePath": str(wt),
        "branch": branch,
        **extra,
    }


async def test_create_adds_worktree_on_new_branch_and_records_it(
    repo: Path, base_dir: Path, make_context: Any, relay_fake: FakeRelay
) -> None:
    (repo / "sub").mkdir()
    result = await worktrees.create(
        make_context("workspace.create"),
        {
            "cwd": str(repo / "sub"),
            "branch": "relay/task-1",
            "workspaceId": "ws-9",
            "agentId": "a1",
        },
    )
    wt = Path(result["worktreePath"])
    assert wt.parent == base_dir.resolve() / ".relay" / "worktrees"
    assert git(wt, "symbolic-ref", "--short", "HEAD") == "relay/task-1"
    assert result["baseRef"] == "main"
    assert result["baseSha"] == git(repo, "rev-parse", "main")
    assert result["cwd"] == str(wt / "sub")
    assert result["recorded"] is True
    [record] = relay_fake.workspaces
    assert record["id"] == "ws-9"
    assert record["orchestratorId"] == "o-test"
    assert record["agentId"] == "a1"
    assert record["mode"] == "isolated"
    assert record["repoRoot"] == str(repo.resolve())
    assert record["sourceCwd"] == str((repo / "sub").resolve())


async def test_create_is_idempotent(repo: Path, make_context: Any) -> None:
    params = {"repoRoot": str(repo), "branch": "b1", "workspaceId": "ws-1"}
    first = await worktrees.create(make_context("workspace.create"), params)
    again = await worktrees.create(make_context("workspace.create"), params)
    assert again["worktreePath"] == first["worktreePath"]
    assert again["baseSha"] == first["baseSha"]


async def test_create_without_workspace_api_still_creates(
    repo: Path, make_context: Any, relay_fake: FakeRelay
) -> None:
    relay_fake.has_workspaces = False
    result = await worktrees.create(make_context("workspace.create"), {"repoRoot": str(repo)})
    assert Path(result["worktreePath"]).is_dir()
    assert result["recorded"] is False
    assert "no workspace API" in result["recordError"]


async def test_create_refuses_worktree_outside_base(
    repo: Path, tmp_path: Path, make_context: Any
) -> None:
    with pytest.raises(PathRefused):
        await worktrees.create(
            make_context("workspace.create"),
            {"repoRoot": str(repo), "worktreePath": str(tmp_path / "elsewhere")},
        )
    assert not (tmp_path / "elsewhere").exists()


async def test_cleanup_refuses_dirty_worktree_with_its_files(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    (wt / "README.md").write_text("edited\n")
    (wt / "new.txt").write_text("new\n")
    with pytest.raises(CommandFailed) as failed:
        await worktrees.cleanup(
            make_context("workspace.cleanup"), workspace_params(repo, wt, "feat")
        )
    assert "uncommitted changes: README.md, new.txt" in failed.value.error
    assert failed.value.result == {
        "workspaceId": "ws-1",
        "dirty": True,
        "paths": ["README.md", "new.txt"],
    }
    assert (wt / "new.txt").read_text() == "new\n"


async def test_cleanup_with_force_discards_changes(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    (wt / "new.txt").write_text("new\n")
    result = await worktrees.cleanup(
        make_context("workspace.cleanup"), workspace_params(repo, wt, "feat", force=True)
    )
    assert result["removed"] is True
    assert result["discarded"] == ["new.txt"]
    assert not wt.exists()
    assert result["branchDeleted"] is True  # no commits of its own: merged by definition


async def test_cleanup_keeps_an_unmerged_branch(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    commit(wt, "a.txt", "a\n")
    result = await worktrees.cleanup(
        make_context("workspace.cleanup"), workspace_params(repo, wt, "feat")
    )
    assert result["removed"] is True
    assert result["branchDeleted"] is False
    assert "has commits not in main" in result["branchKept"]
    assert git(repo, "branch", "--list", "feat") != ""


async def test_cleanup_of_a_gone_worktree_succeeds(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    git(repo, "worktree", "remove", str(wt))
    result = await worktrees.cleanup(
        make_context("workspace.cleanup"), workspace_params(repo, wt, "feat")
    )
    assert result["alreadyRemoved"] is True
    assert result["branchDeleted"] is True


async def test_cleanup_never_removes_the_main_worktree(repo: Path, make_context: Any) -> None:
    with pytest.raises(CommandFailed, match="main worktree"):
        await worktrees.cleanup(
            make_context("workspace.cleanup"), workspace_params(repo, repo, "main", force=True)
        )
    assert (repo / "README.md").exists()


async def test_reconcile_removes_a_workspace_without_changes(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    result = await worktrees.reconcile(
        make_context("workspace.reconcile"), workspace_params(repo, wt, "feat", baseRef="main")
    )
    assert result == {
        "workspaceId": "ws-1",
        "worktreePath": str(wt.resolve()),
        "status": "cleaned",
        "removed": True,
        "ahead": 0,
    }
    assert not wt.exists()
    assert git(repo, "branch", "--list", "feat") == ""


async def test_reconcile_reports_ready_with_commits_and_keeps_them(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    commit(wt, "a.txt", "a\n")
    result = await worktrees.reconcile(
        make_context("workspace.reconcile"), workspace_params(repo, wt, "feat", baseRef="main")
    )
    assert (result["status"], result["ahead"], result.get("removed")) == ("ready", 1, None)
    assert wt.exists()


async def test_reconcile_reports_active_with_uncommitted_changes(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt", "feat")
    (wt / "wip.txt").write_text("wip\n")
    result = await worktrees.reconcile(
        make_context("workspace.reconcile"), workspace_params(repo, wt, "feat", baseRef="main")
    )
    assert (result["status"], result["dirty"], result["paths"]) == ("active", True, ["wip.txt"])
    assert (wt / "wip.txt").exists()


async def test_reconcile_refuses_a_worktree_of_another_repo(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    other = make_repo(base_dir / "other")
    wt = add_worktree(other, base_dir / "wt-other", "feat")
    with pytest.raises(CommandFailed, match="is not a worktree of the repository"):
        await worktrees.reconcile(
            make_context("workspace.reconcile"), workspace_params(repo, wt, "feat")
        )
    assert wt.exists()
