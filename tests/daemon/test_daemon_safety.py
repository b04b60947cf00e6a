"""The daemon as the last line of defence against a command's parameters: each test
states what a constrained or compromised token must not make the daemon do on its host."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relay.daemon import sessions, worktrees
from relay.daemon.context import Context, Host
from relay.daemon.git import Git, GitFailed, GitResult
from relay.daemon.merge import merge
from relay.daemon.outcome import CommandFailed
from relay.daemon.paths import PathRefused
from relay.daemon.tmux import Tmux
from relay.daemon.wake import wake
from tests.daemon.repos import add_worktree, commit, git
from tests.e2e.processes import tmux_socket_path

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def tmux_host(host: Host, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    socket = f"relay-unit-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(host.settings, "session_grace_seconds", 0.5)
    fields = {f: getattr(host, f) for f in Host.__dataclass_fields__}
    yield Host(**{**fields, "tmux": Tmux(socket=socket)})
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
    tmux_socket_path(socket).unlink(missing_ok=True)


def ctx_for(host: Host, type_: str, command_id: str = "c1") -> Context:
    return Context(host=host, command_id=command_id, command_type=type_)


async def spawn_sleeper(host: Host, base_dir: Path, spawn_id: str) -> str:
    result = await sessions.spawn(
        ctx_for(host, "agent.spawn", f"spawn-{spawn_id}"),
        {
            "spawnRequestId": spawn_id,
            "provider": "command",
            "cwd": str(base_dir),
            "command": ["sleep", "120"],
        },
    )
    return str(result["tmuxSession"])


async def still_there(host: Host, name: str) -> bool:
    # The refusals below come before anything reaches tmux: nothing to wait for.
    return await host.tmux.has_session(name)


# -- sessions the daemon does not manage, or manages for another agent ---------------------


@needs_tmux
async def test_wake_into_a_session_the_daemon_never_made_is_refused(
    tmux_host: Host, base_dir: Path
) -> None:
    """The daemon shares the user's tmux server by default: a wake naming the human's own
    shell session ("human", no ``relay-`` prefix, no journal record) types ``from`` into
    that shell and presses Enter, so ``$(…)`` in the sender name runs on the host."""
    marker = base_dir / "pwned"
    await tmux_host.tmux.new_session("human", base_dir, ["sh"])
    with pytest.raises(CommandFailed, match="is no session this orchestrator runs"):
        await wake(
            ctx_for(tmux_host, "agent.wake"),
            {
                "agentId": "agent-mine",
                "tmuxSession": "human",
                "reason": "message",
                "from": f"$(touch {marker})",
            },
        )
    # Refused before anything was typed: the shell never saw the line.
    assert not marker.exists()


@needs_tmux
async def test_shutdown_of_a_session_the_daemon_never_made_is_refused(
    tmux_host: Host, base_dir: Path
) -> None:
    await tmux_host.tmux.new_session("human", base_dir, ["sleep", "120"])
    with pytest.raises(CommandFailed):
        await sessions.shutdown(ctx_for(tmux_host, "agent.shutdown"), {"tmuxSession": "human"})
    assert await still_there(tmux_host, "human")


@needs_tmux
async def test_shutdown_for_one_agent_does_not_stop_another_agents_session(
    tmux_host: Host, base_dir: Path
) -> None:
    """The command is about agent A (its token may only act on A) but names B's session:
    find_session takes tmuxSession before agentId and never compares the journal's owner."""
    await spawn_sleeper(tmux_host, base_dir, "sp_a")
    victim = await spawn_sleeper(tmux_host, base_dir, "sp_b")
    with pytest.raises(CommandFailed):
        await sessions.shutdown(
            ctx_for(tmux_host, "agent.shutdown"),
            {"agentId": "agent-sp_a", "tmuxSession": victim},
        )
    assert await still_there(tmux_host, victim)


@needs_tmux
async def test_a_lookalike_spawn_request_id_does_not_reach_another_session(
    tmux_host: Host, base_dir: Path
) -> None:
    """session_name() maps ``sp_victim.1`` and ``sp_victim-1`` (and any two ids sharing their
    first 80 characters) to one tmux session; the relay judges ``spawnRequestIds``
    constraints on the raw id, so a token owning ``sp_victim.1`` stops ``sp_victim-1``."""
    victim = await spawn_sleeper(tmux_host, base_dir, "sp_victim-1")
    with pytest.raises(CommandFailed):
        await sessions.shutdown(
            ctx_for(tmux_host, "agent.shutdown"), {"spawnRequestId": "sp_victim.1"}
        )
    assert await still_there(tmux_host, victim)


# -- branches deleted that are not the workspace's, or not merged --------------------------


async def test_reconcile_does_not_delete_an_unrelated_unmerged_branch(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    """reconcile checks the worktree's HEAD (nothing ahead) but deletes ``params.branch``:
    naming someone else's branch deletes it with its unmerged commits."""
    wt = add_worktree(repo, base_dir / "wt-empty", "relay/empty")
    victim = add_worktree(repo, base_dir / "wt-victim", "feature/precious")
    precious = commit(victim, "work.txt", "a day's work\n", "precious work")
    git(repo, "worktree", "remove", str(victim))  # branch stays; its worktree is gone
    with pytest.raises(CommandFailed, match="has relay/empty checked out, not feature/precious"):
        await worktrees.reconcile(
            make_context("workspace.reconcile"),
            {
                "workspaceId": "ws-1",
                "repoRoot": str(repo),
                "worktreePath": str(wt),
                "branch": "feature/precious",
            },
        )
    assert git(repo, "branch", "--list", "feature/precious") != "", (
        f"branch feature/precious (unmerged commit {precious[:8]}) was deleted"
    )


async def test_cleanup_does_not_delete_an_unmerged_branch_when_base_ref_names_it(
    repo: Path, base_dir: Path, make_context: Any
) -> None:
    """ "Deletes the branch if its commits are in the base": with ``baseRef`` = the branch
    itself (or its tip sha) the check is vacuous and unmerged work is deleted."""
    wt = add_worktree(repo, base_dir / "wt", "feature/precious")
    commit(wt, "work.txt", "a day's work\n", "precious work")
    git(repo, "worktree", "remove", str(wt))
    result = await worktrees.cleanup(
        make_context("workspace.cleanup"),
        {
            "workspaceId": "ws-1",
            "repoRoot": str(repo),
            "worktreePath": str(wt),
            "branch": "feature/precious",
            "baseRef": "feature/precious",
        },
    )
    assert result.get("branchDeleted") is not True
    assert git(repo, "branch", "--list", "feature/precious") != ""


# -- isolation of workspaces ---------------------------------------------------------------


async def test_a_new_workspace_is_not_handed_another_workspaces_worktree(
    repo: Path, make_context: Any, relay_fake: Any
) -> None:
    """Two workspace.create commands for different workspaces (and agents) with the same
    label: the default path and branch come from the label alone, and an existing worktree
    on that branch is "reused" even though this is a new command, not a resumed one."""
    first = await worktrees.create(
        make_context("workspace.create", command_id="c-a"),
        {"repoRoot": str(repo), "workspaceId": "ws-a", "agentId": "agent-a", "label": "fix"},
    )
    commit(Path(first["worktreePath"]), "wip.txt", "agent a's work\n", "a's commit")
    second_error: CommandFailed | None = None
    second: dict[str, Any] = {}
    try:
        second = await worktrees.create(
            make_context("workspace.create", command_id="c-b"),
            {"repoRoot": str(repo), "workspaceId": "ws-b", "agentId": "agent-b", "label": "fix"},
        )
    except CommandFailed as exc:
        second_error = exc
    if second_error is None:
        assert second["worktreePath"] != first["worktreePath"], (
            "ws-b (agent-b) was recorded on ws-a's worktree and branch"
        )


def merge_feat_a(repo: Path, wt: Path) -> dict[str, Any]:
    """The params of ws-1's merge of feat-a (checked out in ``wt``) into main."""
    return {
        "workspaceId": "ws-1",
        "repoRoot": str(repo),
        "worktreePath": str(wt),
        "branch": "feat-a",
        "baseRef": "main",
        "strategy": "rebase-ff",
    }


# -- the base checkout must be inside the base dir -----------------------------------------


async def test_merge_does_not_update_a_checkout_outside_the_base_dir(
    repo: Path, base_dir: Path, tmp_path: Path, make_context: Any
) -> None:
    """The base branch checked out in a worktree outside the base dir (say the user's own
    checkout): the merge runs ``git merge --ff-only`` there, writing files outside it."""
    git(repo, "checkout", "-q", "-b", "dev")  # main leaves the main worktree
    outside = tmp_path / "outside-checkout"
    git(repo, "worktree", "add", "-q", str(outside), "main")
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a", base="main")
    commit(wt, "a.txt", "a\n", "add a")
    with pytest.raises(PathRefused, match="outside the base dir"):
        await merge(
            make_context("workspace.merge"),
            merge_feat_a(repo, wt),
        )
    assert not (outside / "a.txt").exists(), "the merge wrote into a checkout outside baseDir"


# -- a merge cut off by git's timeout ------------------------------------------------------


class CutOffRebase(Git):
    """A git whose rebase stops after its first pick (``--exec false``, a rebase left in
    progress, as a kill at the timeout leaves it) and then raises as ``run`` does on its
    timeout: deterministic, where a slow hook and a short timeout are a race."""

    async def run(
        self, cwd: Path, *args: str, check: bool = True, timeout: float | None = None
    ) -> GitResult:
        if args[:2] == ("rebase", "--no-autostash"):
            await super().run(
                cwd, "rebase", "--no-autostash", "--exec", "false", *args[2:], check=False
            )
            raise GitFailed(f"git rebase timed out after 1 s in {cwd}")
        return await super().run(cwd, *args, check=check, timeout=timeout)


async def test_a_rebase_cut_off_by_the_git_timeout_is_not_left_in_progress(
    repo: Path, base_dir: Path, host: Host, make_context: Any
) -> None:
    """``Git.run`` raises on a timeout even with ``check=False``, so ``_rebase`` never got
    to its abort: the workspace was left mid-rebase (detached HEAD, rebase dir present) and
    every later merge of it failed "a rebase is already in progress"."""
    wt = add_worktree(repo, base_dir / "wt-a", "feat-a")
    commit(wt, "a.txt", "a\n", "add a")
    head0 = commit(wt, "b.txt", "b\n", "add b")
    commit(repo, "m.txt", "m\n", "main moves")
    cut_off = Host(
        **{**{f: getattr(host, f) for f in Host.__dataclass_fields__}, "git": CutOffRebase()}
    )
    make_context("workspace.merge")  # journals the command id
    ctx = Context(host=cut_off, command_id="cmd_t", command_type="workspace.merge")
    with pytest.raises(CommandFailed, match="timed out after 1 s"):
        await merge(
            ctx,
            merge_feat_a(repo, wt),
        )
    rebasing = [
        name
        for name in ("rebase-merge", "rebase-apply")
        if Path(git(wt, "rev-parse", "--path-format=absolute", "--git-path", name)).exists()
    ]
    assert rebasing == [], f"the failed merge left {rebasing} in {wt}"
    assert git(wt, "symbolic-ref", "--short", "HEAD") == "feat-a"
    assert git(wt, "rev-parse", "HEAD") == head0
