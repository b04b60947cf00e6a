"""``workspace.merge``: bring a workspace's branch into its base, or open a pull request.

``rebase-ff`` rebases the branch onto the base and fast-forwards the base; ``auto``
fast-forwards when it can and rebases first otherwise; ``pr`` pushes the branch and
opens a pull request with ``gh``. Every precondition is checked before anything
moves, so a refusal touches nothing; a conflict aborts the rebase (branch and base
exactly as they were) and fails with ``result.conflict`` and the paths.

The base only ever moves by fast-forward to a commit that contains it, so running
the same merge again (a resumed command) cannot merge anything twice: a branch
already in the base is reported merged without a change.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import trio

from relay.daemon.context import Context
from relay.daemon.git import Git, GitFailed, TreeState, command_env
from relay.daemon.outcome import JSON, CommandFailed
from relay.daemon.owners import check_owner, refuse_main
from relay.daemon.worktrees import check_branch_name, listed, text, worktree_state

log = logging.getLogger("relay.daemon.merge")

STRATEGIES = ("pr", "rebase-ff", "auto")


@dataclass(frozen=True, slots=True)
class MergeRequest:
    workspace_id: str | None
    repo: Path
    worktree: Path
    branch: str
    base: str  # the base branch's short name
    base_ref: str
    strategy: str
    delete_branch: bool
    pr_title: str | None
    pr_body: str | None


def parse(ctx: Context, params: JSON) -> MergeRequest:
    strategy = text(params, "strategy") or "auto"
    if strategy not in STRATEGIES:
        raise CommandFailed(f"strategy must be one of {', '.join(STRATEGIES)}")
    base_ref = text(params, "baseRef") or ""  # empty: the main worktree's branch
    return MergeRequest(
        workspace_id=text(params, "workspaceId"),
        repo=ctx.base.check(params.get("repoRoot"), "repoRoot"),
        worktree=ctx.base.check(params.get("worktreePath"), "worktreePath"),
        branch=text(params, "branch", required=True) or "",
        base=base_ref.removeprefix("refs/heads/"),
        base_ref=base_ref,
        strategy=strategy,
        delete_branch=params.get("deleteBranch") is not False,
        pr_title=text(params, "prTitle"),
        pr_body=text(params, "prBody"),
    )


async def merge(ctx: Context, params: JSON) -> JSON:
    request = parse(ctx, params)
    git = ctx.git
    if not request.base:
        base = await git.current_branch(request.repo)
        if base is None:
            raise CommandFailed(f"no baseRef given and {request.repo} has no branch checked out")
        request = replace(request, base=base, base_ref=base)
    check_branch_name(request.branch)
    check_branch_name(request.base)
    if request.base == request.branch:
        raise CommandFailed(f"branch and base are the same ({request.branch})")
    tree = await worktree_state(git, request.repo, request.worktree)
    if tree.rebasing and ctx.resuming:
        # Our own interrupted rebase: undo it, then the merge runs again from the start.
        await git.run(request.worktree, "rebase", "--abort")
        tree = await worktree_state(git, request.repo, request.worktree)
    tips = await git.branch_tips(request.repo, request.branch, request.base)
    head0, base0 = tips.get(request.branch), tips.get(request.base)
    if head0 is None:
        raise CommandFailed(f"branch {request.branch} not found in {request.repo}")
    if base0 is None:
        raise CommandFailed(
            f"base branch {request.base} not found in {request.repo} "
            "(baseRef must name a local branch)"
        )
    result: JSON = {
        "workspaceId": request.workspace_id,
        "strategy": request.strategy,
        "baseRef": request.base_ref,
        "branch": request.branch,
        "previousBaseSha": base0,
        "resumed": ctx.resuming,
    }
    fork = await git.merge_base(request.repo, head0, base0)
    await check_owner(git, request.worktree, request.workspace_id)
    if request.delete_branch:
        # Detached and its branch deleted after: never the user's own checkout. (A workspace
        # sharing that checkout merges by ref, its branch kept.)
        await refuse_main(git, request.repo, request.worktree)
    if fork == head0:
        # Nothing to bring in (or a resumed merge that already moved the base).
        if request.delete_branch and tree.branch not in (request.branch, None):
            raise CommandFailed(
                f"worktree {request.worktree} has {tree.branch} checked out, not {request.branch}"
            )
        result.update({"merged": True, "alreadyMerged": True, "headSha": base0, "commits": 0})
        result.update(await _finish(ctx, request, tree.branch, base0))
        return result
    await _check_workspace(git, request, tree)
    if request.strategy == "pr":
        return await open_pull_request(ctx, request, head0)
    base_tree = await _clean_base_worktree(git, request)
    if base_tree is not None:
        # Its files are rewritten by the fast-forward: only inside the base dir, as any path
        # a command names (a user's own checkout of the base elsewhere is left alone).
        ctx.base.check(str(base_tree), f"the worktree that has {request.base} checked out")
    result["baseWorktree"] = str(base_tree) if base_tree else None
    commits = await git.count(request.repo, f"{base0}..{head0}")
    fast_forward = fork == base0
    head1 = head0
    if not fast_forward:
        head1 = await _rebase(git, request, head0, base0)
    await _test_delay(ctx)
    await ctx.checkpoint(
        {"phase": "fast-forwarding", "head0": head0, "base0": base0, "head1": head1}
    )
    await _fast_forward(git, request, base_tree, base0, head0, head1)
    result.update(
        {
            "merged": True,
            "alreadyMerged": False,
            "applied": "fast-forward" if fast_forward else "rebase",
            "headSha": head1,
            "newBaseSha": head1,
            "commits": commits,
        }
    )
    result.update(await _finish(ctx, request, request.branch, head1))
    return result


async def _check_workspace(git: Git, request: MergeRequest, tree: TreeState) -> None:
    """The workspace's worktree is on its branch, with nothing uncommitted."""
    if tree.rebasing:
        raise CommandFailed(f"a rebase is already in progress in {request.worktree}")
    if tree.branch != request.branch:
        raise CommandFailed(
            f"worktree {request.worktree} has {tree.branch or 'a detached HEAD'} checked out, "
            f"not {request.branch}"
        )
    dirty = await git.changed_paths(request.worktree)
    if dirty:
        raise CommandFailed(
            f"worktree {request.worktree} has uncommitted changes: {listed(dirty)}",
            {"dirty": True, "paths": dirty},
        )


async def _clean_base_worktree(git: Git, request: MergeRequest) -> Path | None:
    """The worktree that has the base checked out (None: none has), if it is clean."""
    for tree in await git.worktrees(request.repo):
        if tree.branch == request.base:
            dirty = await git.changed_paths(tree.path)
            if dirty:
                raise CommandFailed(
                    f"base branch {request.base} is checked out in {tree.path} with uncommitted "
                    f"changes ({listed(dirty)}); nothing was changed"
                )
            return tree.path
    return None


async def _rebase(git: Git, request: MergeRequest, head0: str, base0: str) -> str:
    """Rebase the branch onto ``base0``; on a conflict abort and fail with the paths."""
    try:
        done = await git.run(request.worktree, "rebase", "--no-autostash", base0, check=False)
    except GitFailed as exc:  # cut off (its timeout): not left mid-rebase for every later merge
        await _undo_rebase(git, request, head0)
        raise CommandFailed(
            f"rebasing {request.branch} onto {request.base} failed: {exc}; "
            "branch and base are unchanged"
        ) from None
    if done.ok:
        head1 = await git.rev_parse(request.worktree, "HEAD")
        assert head1 is not None
        return head1
    paths = await git.unmerged_paths(request.worktree)
    await _undo_rebase(git, request, head0)
    if paths:
        raise CommandFailed(
            f"merge conflict in {listed(paths)}: rebasing {request.branch} onto {request.base} "
            "was aborted; branch and base are unchanged",
            {
                "conflict": True,
                "paths": paths,
                "workspaceId": request.workspace_id,
                "branch": request.branch,
                "baseRef": request.base_ref,
                "headSha": head0,
                "baseSha": base0,
            },
        )
    raise CommandFailed(f"rebasing {request.branch} onto {request.base} failed: {done.message()}")


async def _undo_rebase(git: Git, request: MergeRequest, head0: str) -> None:
    """Abort a rebase in progress and make sure the branch is back at ``head0``."""
    if await git.rebase_in_progress(request.worktree):
        await git.run(request.worktree, "rebase", "--abort")
    after = await git.rev_parse(request.repo, f"refs/heads/{request.branch}")
    if after != head0:  # rebase --abort puts it back; make sure of it
        await git.run(request.worktree, "reset", "--hard", head0)


async def _fast_forward(
    git: Git, request: MergeRequest, base_tree: Path | None, base0: str, head0: str, head1: str
) -> None:
    """Move the base to ``head1``: in the worktree that has it checked out, else the ref."""
    if base_tree is not None:
        done = await git.run(base_tree, "merge", "--ff-only", "--no-edit", head1, check=False)
    else:
        done = await git.run(
            request.repo, "update-ref", f"refs/heads/{request.base}", head1, base0, check=False
        )
    if done.ok:
        return
    if head1 != head0:  # put the branch back where it was: the worktree was clean
        await git.run(request.worktree, "reset", "--hard", head0)
    raise CommandFailed(
        f"could not fast-forward {request.base} to {request.branch}: {done.message()}; "
        "branch and base are unchanged"
    )


async def _finish(ctx: Context, request: MergeRequest, checked_out: str | None, head: str) -> JSON:
    """After the merge: delete the branch if asked (its worktree is left on a detached HEAD)."""
    git = ctx.git
    if not request.delete_branch:
        return {"branchDeleted": False}
    if checked_out == request.branch:
        await git.run(request.worktree, "checkout", "--quiet", "--detach", head)
    await git.run(request.repo, "branch", "-D", "--", request.branch)
    return {"branchDeleted": True}


async def _test_delay(ctx: Context) -> None:
    delay = ctx.settings.test_merge_delay_seconds
    if delay > 0:
        log.warning("merge_test_delay command=%s seconds=%s", ctx.command_id, delay)
        await trio.sleep(delay)


# -- pr --------------------------------------------------------------------------------------


async def open_pull_request(ctx: Context, request: MergeRequest, head: str) -> JSON:
    """Push the branch and open a pull request with ``gh``, if it is there and logged in."""
    gh = shutil.which(ctx.settings.gh_command)
    if gh is None:
        raise CommandFailed(
            "strategy pr needs the GitHub CLI (gh), which is not installed on this host"
        )
    status = await _gh(ctx, gh, request.worktree, "auth", "status")
    if status.returncode != 0:
        raise CommandFailed(
            "strategy pr needs an authenticated GitHub CLI: run `gh auth login` on this host "
            f"({_last_line(status)})"
        )
    try:
        await ctx.git.run(
            request.worktree,
            "push",
            "--set-upstream",
            "origin",
            f"{request.branch}:{request.branch}",
        )
    except GitFailed as exc:
        raise CommandFailed(f"pushing {request.branch} failed: {exc.error}") from exc
    created = await _gh(
        ctx,
        gh,
        request.worktree,
        "pr",
        "create",
        "--base",
        request.base,
        "--head",
        request.branch,
        "--title",
        request.pr_title or request.branch,
        "--body",
        request.pr_body or "",
    )
    if created.returncode != 0:
        raise CommandFailed(f"gh pr create failed: {_last_line(created)}")
    url = created.stdout.decode("utf-8", "replace").strip().splitlines()[-1:]
    return {
        "workspaceId": request.workspace_id,
        "merged": False,
        "strategy": "pr",
        "prUrl": url[0] if url else None,
        "branch": request.branch,
        "baseRef": request.base_ref,
        "headSha": head,
    }


async def _gh(ctx: Context, gh: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    limit = ctx.settings.gh_timeout_seconds
    with trio.move_on_after(limit) as scope:
        done = await trio.run_process(
            [gh, *args],
            cwd=str(cwd),
            stdin=subprocess.DEVNULL,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env={**command_env(), "GH_PROMPT_DISABLED": "1", "NO_COLOR": "1"},
        )
    if scope.cancelled_caught:
        raise CommandFailed(f"gh {args[0]} timed out after {limit:g} s")
    return done


def _last_line(done: subprocess.CompletedProcess[bytes]) -> str:
    text_ = (done.stderr or done.stdout or b"").decode("utf-8", "replace").strip()
    return text_.splitlines()[-1] if text_ else f"exit status {done.returncode}"
