"""The daemon's guards, followed up: a detached main's HEAD as the base, a sha base, and the
owner of a worktree checked before cleanup, reconcile and merge touch it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relay.daemon import worktrees
from relay.daemon.merge import merge
from relay.daemon.outcome import CommandFailed
from tests.daemon.repos import add_worktree, commit, git

pytestmark = pytest.mark.usefixtures("repo")


# -- legitimate flows the "another branch" check now refuses -------------------------------


async def test_reconcile_without_base_ref_on_a_detached_main_still_reports(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    """``default_base`` answers "HEAD" when the main worktree is detached, and
    ``_another_branch`` then refuses its own default (``--symbolic-full-name HEAD`` is
    "HEAD"): a reconcile that would only report a workspace with work on it fails."""
    wt = add_worktree(repo, base_dir / "wt", "feat")
    commit(wt, "a.txt", "a\n")
    git(repo, "checkout", "-q", "--detach")
    result = await worktrees.reconcile(
        make_context("workspace.reconcile"),
        {"workspaceId": "ws-1", "repoRoot": str(repo), "worktreePath": str(wt), "branch": "feat"},
    )
    assert (result["status"], result["ahead"]) == ("ready", 1)


async def test_reconcile_with_the_workspace_base_sha_still_reports_ready(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    """A workspace recorded from a sha (``baseRef`` = its ``baseSha``): reconcile only
    reports it (commits ahead, nothing deleted), yet the whole command is refused."""
    base_sha = git(repo, "rev-parse", "main")
    wt = add_worktree(repo, base_dir / "wt", "feat", base=base_sha)
    commit(wt, "a.txt", "a\n")
    result = await worktrees.reconcile(
        make_context("workspace.reconcile"),
        {
            "workspaceId": "ws-1",
            "repoRoot": str(repo),
            "worktreePath": str(wt),
            "branch": "feat",
            "baseRef": base_sha,
        },
    )
    assert (result["status"], result["ahead"]) == ("ready", 1)
    assert wt.exists()


async def test_relay_cleanup_on_a_detached_main_still_deletes_a_merged_branch(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    """The relay's own ``workspace.cleanup`` sends no ``baseRef`` (repo/flows.py
    ``request_cleanup``): with the main worktree detached the default base is "HEAD",
    which ``_another_branch`` never accepts, so a merged branch is now always kept."""
    wt = add_worktree(repo, base_dir / "wt", "feat")
    commit(wt, "a.txt", "a\n")
    git(repo, "merge", "-q", "--ff-only", "feat")
    git(repo, "checkout", "-q", "--detach")
    result = await worktrees.cleanup(
        make_context("workspace.cleanup"),
        {
            "workspaceId": "ws-1",
            "repoRoot": str(repo),
            "worktreePath": str(wt),
            "branch": "feat",
            "deleteBranch": True,
        },
    )
    assert result.get("branchDeleted") is True, result
    assert git(repo, "branch", "--list", "feat") == ""


# -- the owner marker only guards workspace.create -----------------------------------------


async def test_cleanup_for_one_workspace_does_not_discard_another_workspaces_worktree(
    repo: Path, make_context: Any
) -> None:
    """The worktree knows its workspace (``relay-workspace``), but cleanup never asks: a
    cleanup for ws-a naming ws-b's worktree (``force``) discards ws-b's uncommitted work
    and removes its agent's cwd."""
    ws_b = await worktrees.create(
        make_context("workspace.create", command_id="c-b"),
        {"repoRoot": str(repo), "workspaceId": "ws-b", "label": "b"},
    )
    victim = Path(ws_b["worktreePath"])
    (victim / "wip.txt").write_text("ws-b's uncommitted work\n")
    with pytest.raises(CommandFailed):
        await worktrees.cleanup(
            make_context("workspace.cleanup", command_id="c-a"),
            {
                "workspaceId": "ws-a",
                "repoRoot": str(repo),
                "worktreePath": str(victim),
                "branch": ws_b["branch"],
                "force": True,
            },
        )
    assert (victim / "wip.txt").exists()


async def test_merge_for_one_workspace_does_not_detach_another_workspaces_branch(
    repo: Path, make_context: Any
) -> None:
    """merge's ``deleteBranch`` on the "already merged" path (a fresh workspace has no
    commits ahead) runs before any workspace check: a merge for ws-a naming ws-b's
    worktree and branch detaches ws-b's worktree and deletes its branch, so ws-b's agent
    commits on a detached HEAD from then on."""
    ws_b = await worktrees.create(
        make_context("workspace.create", command_id="c-b"),
        {"repoRoot": str(repo), "workspaceId": "ws-b", "label": "b"},
    )
    victim = Path(ws_b["worktreePath"])
    with pytest.raises(CommandFailed):
        await merge(
            make_context("workspace.merge", command_id="c-a"),
            {
                "workspaceId": "ws-a",
                "repoRoot": str(repo),
                "worktreePath": str(victim),
                "branch": ws_b["branch"],
                "baseRef": "main",
                "strategy": "rebase-ff",
            },
        )
    assert git(victim, "symbolic-ref", "--short", "HEAD") == ws_b["branch"]


async def test_create_does_not_hand_out_the_main_worktree_as_a_workspace(
    repo: Path, make_context: Any, relay_fake: Any
) -> None:
    """``_owner_of`` reads the marker from ``--absolute-git-dir``: for the main worktree
    that is the repository's shared ``.git``, never marked, so an "existing worktree"
    at the repo root on its branch is reused as a new isolated workspace (the user's
    own checkout), which cleanup and reconcile then refuse as the main worktree."""
    with pytest.raises(CommandFailed):
        await worktrees.create(
            make_context("workspace.create"),
            {
                "repoRoot": str(repo),
                "workspaceId": "ws-x",
                "worktreePath": str(repo),
                "branch": "main",
            },
        )
    assert relay_fake.workspaces == []
