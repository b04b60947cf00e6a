"""The owner of a worktree, followed up: the main worktree by any of its directories, a
resumed create, a workspace sharing the main checkout, an id the relay records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from relay.daemon import worktrees
from relay.daemon.merge import merge
from relay.daemon.outcome import CommandFailed
from tests.daemon.repos import commit, git

pytestmark = pytest.mark.usefixtures("repo")


# -- holes: a subdirectory of the main worktree is not "the main worktree" ------------------


async def test_a_merge_naming_a_directory_of_the_main_worktree_is_refused(
    repo: Path, make_context: Any
) -> None:
    """check_owned compares the path with the main worktree exactly: ``repo/sub`` passes
    (and its marker is read from the shared ``.git``, never marked). A merge with
    ``deleteBranch`` (the default) on the already-merged path then detaches the user's own
    checkout and deletes the branch they are working on."""
    (repo / "sub").mkdir()
    commit(repo, "sub/keep.txt", "x\n")
    git(repo, "checkout", "-q", "-b", "user-feature")  # the user's own work, in main
    with pytest.raises(CommandFailed):
        await merge(
            make_context("workspace.merge"),
            {
                "workspaceId": "ws-x",
                "repoRoot": str(repo),
                "worktreePath": str(repo / "sub"),
                "branch": "user-feature",
                "baseRef": "main",
                "strategy": "rebase-ff",
            },
        )
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "user-feature"
    assert git(repo, "branch", "--list", "user-feature") != ""


async def test_create_refuses_a_directory_of_the_main_worktree(
    repo: Path, make_context: Any, relay_fake: Any
) -> None:
    """test_create_does_not_hand_out_the_main_worktree_as_a_workspace, with
    ``worktreePath`` one directory down: the user's checkout is reused as an isolated
    workspace and recorded with the relay."""
    (repo / "sub").mkdir()
    with pytest.raises(CommandFailed):
        await worktrees.create(
            make_context("workspace.create"),
            {
                "repoRoot": str(repo),
                "workspaceId": "ws-x",
                "worktreePath": str(repo / "sub"),
                "branch": "main",
            },
        )
    assert relay_fake.workspaces == []


# -- legitimate flows refused ----------------------------------------------------------------


async def test_a_resumed_workspace_create_without_workspace_id_finds_its_worktree(
    repo: Path, make_context: Any
) -> None:
    """workspace.create is idempotent (executor: resumed after a daemon kill -9). Without
    ``params.workspaceId`` each run draws a fresh ``ws-<uuid>``; with a label the path and
    branch are the same, so the resumed run finds the worktree its first run marked for
    the other random id and fails, where it used to reuse it."""
    params = {"repoRoot": str(repo), "label": "task-7"}
    first = await worktrees.create(make_context("workspace.create", command_id="c1"), params)
    again = await worktrees.create(
        make_context("workspace.create", resuming=True, command_id="c1"), params
    )
    assert again["worktreePath"] == first["worktreePath"]


async def test_a_workspace_in_the_main_checkout_merges_by_ref_with_its_branch_kept(
    repo: Path, make_context: Any
) -> None:
    """check_owned runs before every merge, not only the already-merged path with
    ``deleteBranch`` the commit names: a workspace whose worktree is the repository's
    checkout (mode shared/inherit records ``worktreePath`` = ``repoRoot``), merged with
    ``deleteBranch: false`` (nothing detached or deleted), fast-forwarded ``main`` by ref
    before 9edf0e7 and is now refused."""
    git(repo, "checkout", "-q", "-b", "feat")
    head = commit(repo, "a.txt", "a\n")
    result = await merge(
        make_context("workspace.merge"),
        {
            "workspaceId": "ws-shared",
            "repoRoot": str(repo),
            "worktreePath": str(repo),
            "branch": "feat",
            "baseRef": "main",
            "strategy": "auto",
            "deleteBranch": False,
        },
    )
    assert result["merged"] is True
    assert git(repo, "rev-parse", "main") == head


async def test_a_worktree_the_relay_recorded_under_another_id_is_re_created(
    repo: Path, make_context: Any, relay_fake: Any
) -> None:
    """``record`` re-marks the worktree with the id the relay answers when it differs
    ("the commands about it will name that one"), but the create that made it is re-run
    with its own id (an isolated spawn resumed after a restart: ``workspace_id_for`` of the
    same spawn request; a resumed ``workspace.create``), and is then refused its own
    worktree."""

    async def answer_other_id(body: dict[str, Any]) -> dict[str, Any]:
        relay_fake.workspaces.append(body)
        return {"workspace": {**body, "id": "ws-relay-kept"}}

    relay_fake.report_workspace = answer_other_id
    params = {"repoRoot": str(repo), "workspaceId": "ws-sp-1", "label": "sp-1"}
    first = await worktrees.create(make_context("workspace.create", command_id="c1"), params)
    assert first["workspaceId"] == "ws-relay-kept"
    again = await worktrees.create(
        make_context("workspace.create", resuming=True, command_id="c1"), params
    )
    assert again["worktreePath"] == first["worktreePath"]
