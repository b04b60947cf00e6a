"""workspace.merge against real repositories: strategies, conflicts, refusals, resumes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from relay.daemon.merge import merge
from relay.daemon.outcome import CommandFailed
from relay.daemon.paths import PathRefused
from tests.daemon.repos import add_worktree, commit, git, subjects

pytestmark = pytest.mark.usefixtures("repo")


def params(repo: Path, worktree: Path, branch: str, **extra: Any) -> dict[str, Any]:
    return {
        "workspaceId": "ws-1",
        "repoRoot": str(repo),
        "worktreePath": str(worktree),
        "branch": branch,
        "baseRef": "main",
        "strategy": "rebase-ff",
        "deleteBranch": True,
        **extra,
    }


def sha(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", ref)


async def test_rebase_ff_brings_branch_onto_moved_base(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    commit(wt, "a.txt", "a\n", "add a")
    commit(repo, "m.txt", "m\n", "main moves")
    result = await merge(make_context("workspace.merge"), params(repo, wt, "feat-a"))
    assert result["merged"] is True
    assert result["applied"] == "rebase"
    assert result["commits"] == 1
    assert subjects(repo) == ["add a", "main moves", "init"]
    assert git(repo, "rev-list", "--merges", "main") == ""
    assert (repo / "a.txt").read_text() == "a\n"  # main worktree updated (it was clean)
    assert git(repo, "status", "--porcelain") == ""
    assert result["branchDeleted"] is True
    assert git(repo, "branch", "--list", "feat-a") == ""


async def test_two_workspaces_merge_back_to_back(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    a = add_worktree(repo, base_dir / "wt-a", "feat-a")
    b = add_worktree(repo, base_dir / "wt-b", "feat-b")
    commit(a, "a.txt", "a\n", "add a")
    commit(b, "b.txt", "b\n", "add b")
    first = await merge(make_context("workspace.merge", command_id="c1"), params(repo, a, "feat-a"))
    second = await merge(
        make_context("workspace.merge", command_id="c2"), params(repo, b, "feat-b")
    )
    assert (first["applied"], second["applied"]) == ("fast-forward", "rebase")
    assert subjects(repo) == ["add b", "add a", "init"]


async def test_auto_fast_forwards_without_rewriting(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    head = commit(wt, "a.txt", "a\n")
    result = await merge(
        make_context("workspace.merge"),
        params(repo, wt, "feat-a", strategy="auto", deleteBranch=False),
    )
    assert result["applied"] == "fast-forward"
    assert sha(repo, "main") == head == result["headSha"]
    assert result["branchDeleted"] is False
    assert sha(repo, "feat-a") == head


async def test_conflict_aborts_and_leaves_branch_and_base_untouched(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    commit(wt, "README.md", "branch version\n")
    commit(repo, "README.md", "main version\n")
    base_before, branch_before = sha(repo, "main"), sha(repo, "feat-a")
    with pytest.raises(CommandFailed) as failed:
        await merge(make_context("workspace.merge"), params(repo, wt, "feat-a"))
    assert failed.value.error.startswith("merge conflict in README.md")
    assert failed.value.result is not None
    assert failed.value.result["conflict"] is True
    assert failed.value.result["paths"] == ["README.md"]
    assert (sha(repo, "main"), sha(repo, "feat-a")) == (base_before, branch_before)
    assert git(wt, "status", "--porcelain") == ""
    assert git(wt, "symbolic-ref", "--short", "HEAD") == "feat-a"
    assert not Path(git(wt, "rev-parse", "--git-path", "rebase-merge")).exists()
    assert (repo / "README.md").read_text() == "main version\n"


async def test_dirty_base_checkout_fails_touching_nothing(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    commit(wt, "a.txt", "a\n")
    commit(repo, "m.txt", "m\n")  # so a rebase would be needed
    (repo / "README.md").write_text("local edit\n")
    base_before, branch_before = sha(repo, "main"), sha(repo, "feat-a")
    with pytest.raises(
        CommandFailed, match=r"checked out in .* with uncommitted changes \(README.md\)"
    ):
        await merge(make_context("workspace.merge"), params(repo, wt, "feat-a"))
    assert (sha(repo, "main"), sha(repo, "feat-a")) == (base_before, branch_before)
    assert (repo / "README.md").read_text() == "local edit\n"


async def test_base_not_checked_out_anywhere_moves_by_ref(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    git(repo, "checkout", "-q", "-b", "other")
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    head = commit(wt, "a.txt", "a\n")
    result = await merge(make_context("workspace.merge"), params(repo, wt, "feat-a"))
    assert result["baseWorktree"] is None
    assert sha(repo, "main") == head
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "other"


async def test_dirty_workspace_is_not_merged(repo: Path, base_dir: Path, make_context: Any) -> None:
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    commit(wt, "a.txt", "a\n")
    (wt / "scratch.txt").write_text("wip\n")
    with pytest.raises(CommandFailed, match=r"uncommitted changes: scratch\.txt"):
        await merge(make_context("workspace.merge"), params(repo, wt, "feat-a"))


async def test_running_again_merges_nothing_twice(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    commit(wt, "a.txt", "a\n", "add a")
    commit(repo, "m.txt", "m\n", "main moves")
    await merge(make_context("workspace.merge"), params(repo, wt, "feat-a", deleteBranch=False))
    again = await merge(make_context("workspace.merge", resuming=True), params(repo, wt, "feat-a"))
    assert again["alreadyMerged"] is True
    assert again["branchDeleted"] is True
    assert subjects(repo) == ["add a", "main moves", "init"]


async def test_resume_after_crash_mid_rebase_undoes_it_and_merges_once(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    commit(wt, "README.md", "branch\n", "edit readme")
    commit(repo, "README.md", "main\n", "main edits readme")
    branch_before = sha(repo, "feat-a")
    # What a crash leaves: a rebase stopped on a conflict, nobody to abort it.
    assert os.system(f"git -C {wt} rebase main >/dev/null 2>&1") != 0  # noqa: S605
    assert Path(
        git(wt, "rev-parse", "--path-format=absolute", "--git-path", "rebase-merge")
    ).exists()
    with pytest.raises(CommandFailed, match=r"merge conflict in README\.md"):
        await merge(make_context("workspace.merge", resuming=True), params(repo, wt, "feat-a"))
    assert sha(repo, "feat-a") == branch_before
    assert subjects(repo) == ["main edits readme", "init"]


async def test_resume_after_rebase_before_fast_forward(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    commit(wt, "a.txt", "a\n", "add a")
    commit(repo, "m.txt", "m\n", "main moves")
    git(wt, "rebase", "-q", "main")  # the crash came after the rebase, before the ff
    result = await merge(make_context("workspace.merge", resuming=True), params(repo, wt, "feat-a"))
    assert result["merged"] is True
    assert result["resumed"] is True
    assert subjects(repo) == ["add a", "main moves", "init"]


async def test_paths_outside_the_base_dir_are_refused_before_git_runs(
    repo: Path, base_dir: Path, tmp_path: Path, make_context: Any
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, base_dir / "escape")
    for bad in (str(base_dir / "escape"), str(base_dir / ".." / "outside")):
        with pytest.raises(PathRefused, match="outside the base dir"):
            await merge(make_context("workspace.merge"), params(repo, Path(bad), "feat-a"))
    assert list(outside.iterdir()) == []


async def test_pr_without_gh_fails_saying_so(
    repo: Path, base_dir: Path, make_context: Any, host: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    commit(wt, "a.txt", "a\n")
    monkeypatch.setattr(host.settings, "gh_command", "gh-not-installed-here")
    with pytest.raises(CommandFailed, match=r"needs the GitHub CLI \(gh\), which is not installed"):
        await merge(make_context("workspace.merge"), params(repo, wt, "feat-a", strategy="pr"))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"strategy": "squash"}, "strategy must be one of pr, rebase-ff, auto"),
        ({"branch": "--upload-pack=x"}, "not a valid branch name"),
        ({"branch": "main"}, "branch and base are the same"),
        ({"branch": "nope"}, "branch nope not found"),
        ({"baseRef": "origin/main"}, "base branch origin/main not found"),
    ],
)
async def test_bad_merge_params(
    repo: Path, base_dir: Path, make_context: Any, override: dict[str, str], message: str
) -> None:
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    with pytest.raises(CommandFailed, match=message):
        await merge(make_context("workspace.merge"), {**params(repo, wt, "feat-a"), **override})


async def test_pr_with_unauthenticated_gh_fails_saying_so(
    repo: Path,
    base_dir: Path,
    tmp_path: Path,
    make_context: Any,
    host: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_gh = tmp_path / "gh"
    fake_gh.write_text("#!/bin/sh\necho 'You are not logged into any GitHub hosts.' >&2\nexit 1\n")
    fake_gh.chmod(0o755)
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    commit(wt, "a.txt", "a\n")
    monkeypatch.setattr(host.settings, "gh_command", str(fake_gh))
    with pytest.raises(CommandFailed, match=r"needs an authenticated GitHub CLI.*gh auth login"):
        await merge(make_context("workspace.merge"), params(repo, wt, "feat-a", strategy="pr"))
    assert git(repo, "rev-parse", "main") != git(repo, "rev-parse", "feat-a")  # nothing merged
