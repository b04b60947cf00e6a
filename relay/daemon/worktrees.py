"""Workspace commands on git worktrees: ``workspace.create``, ``.cleanup``, ``.reconcile``.

A worktree with uncommitted changes is never destroyed unless the command says
``force``; a branch is deleted only once its commits are in the base.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import trio

from relay.daemon.context import Context
from relay.daemon.git import Git, GitFailed, TreeState, valid_branch_name
from relay.daemon.git_facts import workspace_facts
from relay.daemon.outcome import JSON, CommandFailed
from relay.daemon.owners import check_owned, main_worktree, mark_owner, owner_of, refuse_main
from relay.daemon.paths import within
from relay.daemon.providers import short_id, slug

MAX_LISTED_PATHS = 50


@dataclass(frozen=True, slots=True)
class Workspace:
    id: str
    repo_root: Path
    source_cwd: Path
    worktree_path: Path
    branch: str
    base_ref: str
    base_sha: str
    cwd: Path  # where a session in this workspace starts (the source's subdir, mirrored)
    recorded: bool = False
    record_error: str | None = None
    git: JSON | None = None  # git_facts, as reported to the relay in metadata.git

    def record(self, orchestrator_id: str, agent_id: str | None, metadata: JSON) -> JSON:
        body: JSON = {
            "id": self.id,
            "orchestratorId": orchestrator_id,
            "repoRoot": str(self.repo_root),
            "sourceCwd": str(self.source_cwd),
            "worktreePath": str(self.worktree_path),
            "branch": self.branch,
            "baseRef": self.base_ref,
            "baseSha": self.base_sha,
            "mode": "isolated",
            "status": "active",
            "metadata": metadata,
        }
        if agent_id:
            body["agentId"] = agent_id
        return body

    def to_json(self) -> JSON:
        return {
            "workspaceId": self.id,
            "repoRoot": str(self.repo_root),
            "sourceCwd": str(self.source_cwd),
            "worktreePath": str(self.worktree_path),
            "branch": self.branch,
            "baseRef": self.base_ref,
            "baseSha": self.base_sha,
            "cwd": str(self.cwd),
            "recorded": self.recorded,
            **({"recordError": self.record_error} if self.record_error else {}),
            **({"git": self.git} if self.git is not None else {}),
        }


def text(params: JSON, key: str, *, required: bool = False) -> str | None:
    value: Any = params.get(key)
    if value is None or value == "":
        if required:
            raise CommandFailed(f"params.{key} is required")
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise CommandFailed(f"params.{key} must be a string")
    return value


def listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:MAX_LISTED_PATHS])
    more = len(paths) - MAX_LISTED_PATHS
    return shown + (f" (and {more} more)" if more > 0 else "")


def check_branch_name(branch: str) -> str:
    if not valid_branch_name(branch):
        raise CommandFailed(f"{branch!r} is not a valid branch name")
    return branch


async def worktree_state(git: Git, repo: Path, worktree: Path) -> TreeState:
    """``worktree`` exists and is a worktree of the repository at ``repo``; its state."""
    if not await trio.Path(repo).is_dir():
        raise CommandFailed(f"repoRoot {repo} does not exist")
    if not await trio.Path(worktree).is_dir():
        raise CommandFailed(f"worktree {worktree} does not exist")
    state = await git.tree_state(worktree)
    if state is None or state.common_dir != await git.common_dir(repo):
        raise CommandFailed(f"{worktree} is not a worktree of the repository at {repo}")
    return state


async def default_base(git: Git, repo: Path) -> str:
    return await git.current_branch(repo) or "HEAD"


# -- workspace.create ------------------------------------------------------------------------


async def create(ctx: Context, params: JSON) -> JSON:
    """``workspace.create``: a new branch from ``baseRef`` checked out in a new worktree.

    Params: ``repoRoot`` or ``cwd``; optional ``branch``, ``baseRef``, ``worktreePath``,
    ``workspaceId``, ``agentId``, ``label``, ``metadata``.
    """
    source = ctx.base.check(params.get("cwd") or params.get("repoRoot"), "cwd")
    # Not given: one per command, so a run resumed after a restart finds its own worktree.
    workspace_id = (
        text(params, "workspaceId")
        or "ws-"
        + uuid.uuid5(uuid.NAMESPACE_URL, f"relay:workspace.create:{ctx.command_id}").hex[:12]
    )
    metadata = params.get("metadata") if isinstance(params.get("metadata"), dict) else {}
    workspace = await create_worktree(
        ctx,
        source,
        workspace_id=workspace_id,
        name_hint=text(params, "label") or workspace_id,
        branch=text(params, "branch"),
        base_ref=text(params, "baseRef"),
        worktree_path=text(params, "worktreePath"),
    )
    workspace = await record(ctx, workspace, text(params, "agentId"), metadata or {})
    return workspace.to_json()


async def create_worktree(
    ctx: Context,
    source: Path,
    *,
    workspace_id: str,
    name_hint: str,
    branch: str | None = None,
    base_ref: str | None = None,
    worktree_path: str | None = None,
) -> Workspace:
    """``git worktree add -b BRANCH PATH BASE`` for the repository holding ``source``.

    Idempotent: a worktree already at the path on that branch is reused.
    """
    git = ctx.git
    if not await trio.Path(source).is_dir():
        raise CommandFailed(f"cwd {source} is not a directory")
    top = await git.toplevel(source)
    repo = ctx.base.check(str(await main_worktree(git, source)), "repoRoot")
    subdir = source.relative_to(top) if within(source, top) else Path()
    hint = slug(name_hint) or short_id(workspace_id)
    branch = check_branch_name(branch or f"relay/{hint}")
    base_ref = base_ref or await default_base(git, repo)
    base_sha = await git.rev_parse(repo, base_ref)
    if base_sha is None:
        raise CommandFailed(f"baseRef {base_ref!r} names no commit in {repo}")
    path = (
        ctx.base.check(worktree_path, "worktreePath")
        if worktree_path
        else ctx.base.check(str(ctx.base.worktrees_dir / f"{repo.name}-{hint}"), "worktreePath")
    )
    if path.exists():
        await worktree_state(git, repo, path)
        await refuse_main(git, repo, path)  # the user's checkout is no workspace's
        if await git.current_branch(path) != branch:
            raise CommandFailed(f"{path} already exists and does not have {branch} checked out")
        owner = await owner_of(git, path)
        if owner is not None and owner != workspace_id:
            # Its path and branch come from the label: another workspace's work, not ours.
            raise CommandFailed(f"{path} is the worktree of workspace {owner}, not {workspace_id}")
        base_sha = await git.out(path, "merge-base", "HEAD", base_sha)
    else:
        await trio.to_thread.run_sync(lambda: path.parent.mkdir(parents=True, exist_ok=True))
        if await git.branch_exists(repo, branch):
            if not ctx.resuming:
                raise CommandFailed(f"branch {branch} already exists in {repo}")
            await git.run(repo, "worktree", "add", str(path), branch)
        else:
            await git.run(repo, "worktree", "add", "-b", branch, str(path), base_sha)
        await mark_owner(git, path, workspace_id)
    cwd = path / subdir
    # The source dir may hold nothing git tracks yet (so the new worktree lacks it).
    await trio.Path(cwd).mkdir(parents=True, exist_ok=True)
    return Workspace(
        id=workspace_id,
        repo_root=repo,
        source_cwd=source,
        worktree_path=path,
        branch=branch,
        base_ref=base_ref,
        base_sha=base_sha,
        cwd=cwd,
    )


async def git_facts(git: Git, worktree: Path, base: str) -> JSON | None:
    """``metadata.git`` for the worktree, or None if git cannot say: the facts are news for
    the page, never a reason to fail the command that gathers them."""
    try:
        return await workspace_facts(git, worktree, base)
    except GitFailed:
        return None


async def record(
    ctx: Context, workspace: Workspace, agent_id: str | None, metadata: JSON
) -> Workspace:
    """Tell the relay about the workspace (``POST /api/workspaces``), with its git facts."""
    facts = await git_facts(ctx.git, workspace.worktree_path, workspace.base_sha)
    workspace = replace(workspace, git=facts)
    if facts is not None:
        metadata = {**metadata, "git": facts}
    body = workspace.record(ctx.host.orchestrator_id, agent_id, metadata)
    try:
        reply = await ctx.host.relay.report_workspace(body)
    except CommandFailed as exc:
        return replace(workspace, record_error=exc.error)
    if reply is None:
        return replace(
            workspace, record_error="the relay has no workspace API (POST /api/workspaces)"
        )
    stored = reply.get("workspace", reply)
    recorded_id = stored.get("id") if isinstance(stored, dict) else None
    return replace(workspace, id=str(recorded_id or workspace.id), recorded=True)


# -- workspace.cleanup -----------------------------------------------------------------------


async def cleanup(ctx: Context, params: JSON) -> JSON:
    """``workspace.cleanup``: remove the worktree, and the branch once it is merged.

    A worktree with uncommitted changes fails with their list unless ``force``.
    """
    git = ctx.git
    workspace_id = text(params, "workspaceId")
    worktree = ctx.base.check(params.get("worktreePath"), "worktreePath")
    repo = ctx.base.check(params.get("repoRoot"), "repoRoot")
    branch = text(params, "branch")
    force = params.get("force") is True
    delete_branch = params.get("deleteBranch") is not False
    result: JSON = {"workspaceId": workspace_id, "worktreePath": str(worktree)}
    if not repo.is_dir():
        raise CommandFailed(f"repoRoot {repo} does not exist")
    if branch is not None:
        check_branch_name(branch)
    if worktree.exists():
        tree = await worktree_state(git, repo, worktree)
        await check_owned(git, repo, worktree, workspace_id)
        if branch is not None and tree.branch not in (branch, None):
            raise CommandFailed(f"worktree {worktree} has {tree.branch} checked out, not {branch}")
        dirty = await git.changed_paths(worktree)
        if dirty and not force:
            raise CommandFailed(
                f"worktree {worktree} has uncommitted changes: {listed(dirty)}",
                {"workspaceId": workspace_id, "dirty": True, "paths": dirty},
            )
        await git.run(repo, "worktree", "remove", *(["--force"] if force else []), str(worktree))
        if dirty:
            result["discarded"] = dirty
    else:
        await git.run(repo, "worktree", "prune")
        result["alreadyRemoved"] = True
    result.update({"removed": True, "status": "cleaned"})
    if branch and delete_branch:
        result.update(await _delete_if_merged(git, repo, branch, text(params, "baseRef")))
    return result


async def _delete_if_merged(git: Git, repo: Path, branch: str, base_ref: str | None) -> JSON:
    tip = await git.rev_parse(repo, f"refs/heads/{branch}")
    if tip is None:
        return {"branchDeleted": False}
    base = base_ref or await default_base(git, repo)
    base_sha = await git.rev_parse(repo, base)
    if not await _another_branch(git, repo, base, branch):
        return {"branchDeleted": False, "branchKept": f"{base} is no branch besides {branch}"}
    if base_sha is None or not await git.is_ancestor(repo, tip, base_sha):
        return {"branchDeleted": False, "branchKept": f"{branch} has commits not in {base}"}
    await git.run(repo, "branch", "-D", "--", branch)
    return {"branchDeleted": True}


async def _another_branch(git: Git, repo: Path, base: str, branch: str) -> bool:
    """Whether ``base`` names a ref other than ``branch`` (a branch, a remote's): "its
    commits are in the base" is no test when the base is the branch, or a bare sha that
    may be its tip, and its unmerged work would be deleted."""
    named = await git.run(repo, "rev-parse", "--symbolic-full-name", base, "--", check=False)
    full = named.stdout.strip().splitlines()[0] if named.ok and named.stdout.strip() else ""
    # HEAD stays HEAD when the main worktree is detached (``default_base``'s fallback):
    # the user's checkout, not the workspace's branch.
    return (full.startswith("refs/") or full == "HEAD") and full != f"refs/heads/{branch}"


# -- workspace.reconcile ---------------------------------------------------------------------


async def reconcile(ctx: Context, params: JSON) -> JSON:
    """``workspace.reconcile``: report what the worktree holds; remove it if it holds nothing.

    Clean with no commits ahead of the base (and no live session in it) → worktree and
    branch removed, ``removed: true``. Uncommitted changes or a live session → ``active``;
    commits ahead → ``ready``. A worktree that stays carries its ``git`` facts
    (``git_facts``), which the relay keeps in the workspace's ``metadata.git``.
    """
    git = ctx.git
    workspace_id = text(params, "workspaceId", required=True)
    worktree = ctx.base.check(params.get("worktreePath"), "worktreePath")
    repo = ctx.base.check(params.get("repoRoot"), "repoRoot")
    branch = text(params, "branch")
    if not repo.is_dir():
        raise CommandFailed(f"repoRoot {repo} does not exist")
    if branch is not None:
        check_branch_name(branch)
    base = text(params, "baseRef") or await default_base(git, repo)
    base_sha = await git.rev_parse(repo, base)
    if base_sha is None:
        raise CommandFailed(f"baseRef {base!r} names no commit in {repo}")
    result: JSON = {"workspaceId": workspace_id, "worktreePath": str(worktree)}
    if worktree.exists():
        tree = await worktree_state(git, repo, worktree)
        await check_owned(git, repo, worktree, workspace_id)
        # Detached is the worktree a merge with deleteBranch leaves; the branch is then
        # deleted only once merged (``_delete_if_merged``), like any other.
        if branch is not None and tree.branch not in (branch, None):
            # Judged on the worktree's HEAD, it would delete whatever branch it was given.
            raise CommandFailed(
                f"worktree {worktree} has {tree.branch or 'a detached HEAD'} checked out, "
                f"not {branch}"
            )
        facts = await git_facts(git, worktree, base_sha)
        if facts is not None:
            result["git"] = facts
        live = [s.name for s in await ctx.sessions() if within(Path(s.cwd), worktree)]
        live = [name for name in live if await ctx.tmux.has_session(name)]
        if live:
            return {**result, "status": "active", "sessions": live}
        dirty = await git.changed_paths(worktree)
        if dirty:
            return {**result, "status": "active", "dirty": True, "paths": dirty[:MAX_LISTED_PATHS]}
        head = await git.rev_parse(worktree, "HEAD")
    else:
        result["worktreeMissing"] = True
        head = await git.rev_parse(repo, f"refs/heads/{branch}") if branch else None
    ahead = await git.count(repo, f"{base_sha}..{head}") if head else 0
    if ahead > 0:
        return {**result, "status": "ready", "ahead": ahead}
    result.pop("git", None)  # removed below: nothing left to describe
    if worktree.exists():
        await git.run(repo, "worktree", "remove", str(worktree))
    else:
        await git.run(repo, "worktree", "prune")
    if branch and await git.branch_exists(repo, branch):
        kept = (await _delete_if_merged(git, repo, branch, base)).get("branchKept")
        if kept:
            result["branchKept"] = kept
    return {**result, "status": "cleaned", "removed": True, "ahead": 0}
