"""Workspace flows on the trio side: the one merge path, cleanup routing, settle hooks,
and the maintenance entry points (lease expiry, auto-merge, purge of cleaned records).

``request_workspace_merge`` is used by the HTTP action and by the auto-merge job alike,
so both serialize through the repo's RepoActor.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import trio

from relay.actors import commands
from relay.actors.commands.rules import new_command_id
from relay.actors.repo import messages as msg
from relay.actors.repo import rules
from relay.actors.repo.audit import ActionNote
from relay.actors.runtime.context import Runtime
from relay.actors.workspace_ids import flows as workspace_ids
from relay.auth.access import normalise_path, path_within
from relay.domain.commands import Command, CommandSpec
from relay.domain.orchestrators import Orchestrator
from relay.domain.workspaces import MergeLease, MergeOptions, Workspace
from relay.errors import Conflict, RelayError, Unavailable
from relay.store import commands as command_store
from relay.store import orchestrators as orchestrator_store
from relay.store import workspaces as workspace_store

log = logging.getLogger("relay.workspaces")


CreateCommand = Callable[[Runtime, CommandSpec], Awaitable[Command]]
# Raises if the caller may not have a command queued on this orchestrator. Merges and
# cleanups go to the host whose baseDir holds the workspace (``owners``), not to the
# orchestrator its record names: a record is the caller's to write, the path's host is not.
AllowOwner = Callable[[Orchestrator], None]
CLEANED_RETENTION_MS = 24 * 3600 * 1000
INTERRUPTED_MERGE = "the relay stopped before the merge command was queued"
NO_ONLINE_OWNER = "no online orchestrator available for workspace merge"
UNQUEUED_MERGE = "merge lease released; its merge command was never queued"
WORKSPACE_COMMANDS = ("workspace.merge", "workspace.cleanup", "workspace.reconcile")


async def create_workspace(
    rt: Runtime, workspace: Workspace, *, authorize: Callable[[Workspace], Awaitable[None]]
) -> tuple[Workspace, bool]:
    """Record a workspace in its repository; idempotent on its id within that repository.

    The id index admits the id first (one repository per id, decided one claim at a time),
    then the repo's actor records it. A claim this call took is given back if the record
    is not made.

    Returns:
        ``(workspace, created)``: the stored record, and False for a re-create.

    Raises, in this order:
        Forbidden: from ``authorize``, on the record the id already names (re-posting an
            id never hands back another owner's record).
        Conflict: the id names a workspace of another repository.
    """
    existing = await rt.store.run(lambda: workspace_store.load(workspace.id))
    if existing is not None:
        await authorize(existing)
    stored_owner = existing.repo_root if existing is not None else None
    claimed = await workspace_ids.claim(
        rt, workspace.id, workspace.repo_root, stored_owner=stored_owner
    )
    try:
        stored, created = await rt.registry.ask(
            msg.KIND, workspace.repo_root, msg.CreateWorkspace(workspace)
        )
    except BaseException:
        if claimed:
            with trio.CancelScope(shield=True):
                await workspace_ids.release(rt, workspace.id, workspace.repo_root)
        raise
    if not created and existing is None:
        # Another create of the id won the race since the read above: its record is
        # judged as any stored one, before it is handed back.
        await authorize(stored)
    return stored, created


async def owners(rt: Runtime, workspace: Workspace) -> list[Orchestrator]:
    """Orchestrators whose baseDir contains the workspace's source cwd. The one the
    workspace names, if it is among them, alone: its worktree is on that host's machine,
    and another host covering the path (one at ``/``, or a parent of its baseDir) must not
    be sent its merges, even while it is offline. Else online ones first, the deepest
    baseDir first."""
    found = await rt.store.run(orchestrator_store.list_all)
    mine = [o for o in found if path_within(workspace.source_cwd, o.base_dir)]
    named = [o for o in mine if o.id == workspace.orchestrator_id]
    if named:
        return named
    return sorted(mine, key=lambda o: (o.status != "online", -len(normalise_path(o.base_dir))))


async def request_workspace_merge(
    rt: Runtime,
    workspace: Workspace,
    options: MergeOptions,
    *,
    note: ActionNote | None = None,
    create_command: CreateCommand = commands.create,
    allow_owner: AllowOwner | None = None,
) -> tuple[Workspace, Command]:
    """Take the repo's lease, then plan the merge and queue it on an online owner.

    The lease comes first, already bound to the id of the command to come: a losing
    request gets 409 and its workspace is untouched, and a lease whose command never got
    queued (a crash in between) is released on the next start. Any failure after the
    lease is taken gives it back (the repo actor restores the status it planned from).
    ``note`` audits the plan, in the plan's commit. ``allow_owner`` raises if the caller
    may not have a command queued on the owner chosen (``owners``).

    Raises:
        Conflict: the workspace cannot merge, another merge holds the lease, or no
            online orchestrator owns the workspace.
        Forbidden: from ``allow_owner``.
    """
    repo = workspace.repo_root
    ttl_ms = int(rt.settings.merge_lease_ttl_seconds * 1000)
    command_id = new_command_id()
    # A held lease is answered first (the contract's order). The owner is chosen, and the
    # caller judged on it, before the lease is taken: a merge refused here never holds the
    # repository's lease, not even for a moment.
    held = await rt.store.run(lambda: workspace_store.load_lease(repo))
    if held is not None and not rules.lease_expired(held, rt.clock.now_ms()):
        raise Conflict(rules.lease_held_message(held))
    online = [o for o in await owners(rt, workspace) if o.status == "online"]
    if not online:
        raise Conflict(NO_ONLINE_OWNER)
    if allow_owner is not None:
        allow_owner(online[0])
    await rt.registry.ask(
        msg.KIND, repo, msg.Acquire(workspace.id, options.requested_by, ttl_ms, command_id)
    )
    queuing = False
    try:
        metadata = {**(options.metadata or {}), "mergeStrategy": options.strategy}
        planned_ws = await rt.registry.ask(
            msg.KIND, repo, msg.PlanMerge(workspace.id, command_id, metadata, note)
        )
        queuing = True
        command = await create_command(
            rt, _merge_spec(rt, planned_ws, online[0], options, command_id)
        )
    except BaseException as exc:
        if queuing and _maybe_queued(exc):
            # The command may be stored all the same, and merged by its host: the lease
            # stays bound to it. Its settle frees it, or its expiry if nothing was stored.
            raise
        with trio.CancelScope(shield=True):
            await rt.registry.ask(
                msg.KIND, repo, msg.AbortMerge(workspace.id, command_id, _reason(exc))
            )
        raise
    return planned_ws, command


def _maybe_queued(exc: BaseException) -> bool:
    """Whether the command being queued when ``exc`` came may be stored all the same: no
    answer came in time, or the request was cancelled while it waited for one."""
    return isinstance(exc, (Unavailable, trio.Cancelled))


def _merge_spec(
    rt: Runtime, ws: Workspace, owner: Orchestrator, options: MergeOptions, command_id: str
) -> CommandSpec:
    return CommandSpec(
        id=command_id,
        type="workspace.merge",
        target=owner.id,
        target_kind="orchestrator",
        source="system",
        correlation_id=ws.id,
        ttl_seconds=rt.settings.command_default_ttl_seconds,
        params={
            "action": "merge",
            "workspaceId": ws.id,
            "repoRoot": ws.repo_root,
            "worktreePath": ws.worktree_path,
            "branch": ws.branch,
            "baseRef": ws.base_ref,
            "baseSha": ws.base_sha,
            "strategy": options.strategy,
            "deleteBranch": options.delete_branch,
            "prTitle": options.pr_title,
            "prBody": options.pr_body,
            "requestedBy": options.requested_by,
            "requestedAt": rt.clock.now_ms(),
        },
    )


def _reason(exc: BaseException) -> str:
    return exc.message if isinstance(exc, RelayError) else "merge could not be queued"


def _cleanup_reason(exc: BaseException) -> str:
    return exc.message if isinstance(exc, RelayError) else "cleanup could not be queued"


async def request_cleanup(
    rt: Runtime,
    workspace: Workspace,
    requested_by: str,
    metadata: dict[str, Any],
    *,
    note: ActionNote | None = None,
    allow_owner: AllowOwner | None = None,
) -> tuple[Workspace, Command]:
    """Queue ``workspace.cleanup`` on the online owner, else on any owner (it waits).

    ``note`` audits the request, in the commit that moves the workspace. ``allow_owner``
    as for a merge.

    Raises:
        Conflict: no orchestrator owns the path, or a merge of it is in flight.
        Forbidden: from ``allow_owner``.
    """
    candidates = await owners(rt, workspace)
    if not candidates:
        raise Conflict(
            "no orchestrator owns this workspace path; use DELETE /api/workspaces/:id to "
            "purge the record"
        )
    owner = candidates[0]
    if allow_owner is not None:
        allow_owner(owner)
    command_id = new_command_id()
    repo = workspace.repo_root
    updated: Workspace = await rt.registry.ask(
        msg.KIND, repo, msg.BeginCleanup(workspace.id, command_id, metadata, note)
    )
    spec = CommandSpec(
        id=command_id,
        type="workspace.cleanup",
        target=owner.id,
        target_kind="orchestrator",
        source="system",
        correlation_id=workspace.id,
        ttl_seconds=None,
        params={
            "action": "cleanup",
            "workspaceId": workspace.id,
            "repoRoot": workspace.repo_root,
            "worktreePath": workspace.worktree_path,
            "branch": workspace.branch,
            "requestedBy": requested_by,
            "requestedAt": rt.clock.now_ms(),
            "deleteBranch": True,
            "queued": owner.status != "online",
        },
    )
    try:
        command = await commands.create(rt, spec)
    except BaseException as exc:
        if _maybe_queued(exc):
            # Left cleanup_requested, as the host may remove the worktree all the same;
            # if nothing was stored, cleanup may be asked for again from there.
            raise
        with trio.CancelScope(shield=True):
            # The actor restores the status it remembered at BeginCleanup, not our snapshot.
            await rt.registry.ask(
                msg.KIND, repo, msg.AbortCleanup(workspace.id, command_id, _cleanup_reason(exc))
            )
        raise
    return updated, command


async def on_workspace_command_settled(rt: Runtime, command: Command) -> None:
    """Settle hook for workspace.merge / cleanup / reconcile: move the workspace, free the lease.

    The repo actor writes the move, the release and the audit row in one commit, and only
    when something changes: running the hook again (recovery, a repeated report) is a no-op.
    """
    repo = await _repo_of(rt, command)
    if repo is None:
        return
    await rt.registry.ask(msg.KIND, repo, msg.CommandSettled(command))


async def _repo_of(rt: Runtime, command: Command) -> str | None:
    repo = command.params.get("repoRoot")
    if isinstance(repo, str) and repo:
        return normalise_path(repo)
    workspace_id = command.params.get("workspaceId")  # never the result's (``_workspace_id``)
    if not isinstance(workspace_id, str):
        return None
    ws = await rt.store.run(lambda: workspace_store.load(workspace_id))
    return ws.repo_root if ws else None


async def force_release(
    rt: Runtime, repo_root: str, workspace_id: str, released_by: str
) -> MergeLease | None:
    """Release the repository's lease if ``workspace_id`` holds it (audited by the actor);
    the released lease, or None if it holds none.

    A merge answered 503 keeps its lease, as its command may be stored all the same. If it
    was not, nothing will ever settle the planned merge once the lease is gone: the
    workspace is restored here, as if the merge had never been queued.
    """
    lease: MergeLease | None = await rt.registry.ask(
        msg.KIND, repo_root, msg.ForceRelease(released_by, workspace_id)
    )
    if lease is None or lease.command_id is None:
        return lease
    command_id = lease.command_id
    if await rt.store.run(partial(command_store.load, command_id)) is None:
        await rt.registry.ask(
            msg.KIND, repo_root, msg.AbortMerge(workspace_id, command_id, UNQUEUED_MERGE)
        )
    return lease


async def expire_merge_leases(rt: Runtime) -> dict[str, int]:
    """Maintenance: release leases past their TTL; their workspaces go back to ready."""
    now = rt.clock.now_ms()
    repos = await rt.store.run(lambda: workspace_store.expired_lease_repos(now))
    expired = 0
    for repo in repos:
        # The actor audits the expiry in the commit that releases the lease.
        expiry = await rt.registry.ask(msg.KIND, repo, msg.ExpireLease())
        expired += expiry is not None
    return {"expired": expired}


async def release_unbound_leases(rt: Runtime) -> dict[str, int]:
    """At start: release every lease whose merge command was never queued.

    The lease is taken (bound to its command's id) before the command is queued; a crash
    in between leaves a lease that nothing will ever settle. Nothing is in flight at
    start, so a lease whose command is not in the store is such a leftover: its repo
    actor releases it and restores the workspace. A lease whose command settled is
    handed to the settle hook (a no-op if its effects already ran).
    """
    released = 0
    for lease in await rt.store.run(workspace_store.leases):
        repo = lease.repo_root
        if lease.command_id is None:  # a row written before leases were bound at acquire
            released += (
                await rt.registry.ask(msg.KIND, repo, msg.Release(lease.workspace_id)) is not None
            )
            continue
        command_id = lease.command_id
        command = await rt.store.run(partial(command_store.load, command_id))
        if command is None:
            await rt.registry.ask(
                msg.KIND,
                repo,
                msg.AbortMerge(lease.workspace_id, command_id, INTERRUPTED_MERGE),
            )
            released += 1
        elif command.settled:
            await rt.registry.ask(msg.KIND, repo, msg.CommandSettled(command))
            released += 1
    if released:
        log.warning("unbound_leases_released count=%d", released)
    return {"released": released}


async def purge_cleaned(rt: Runtime) -> dict[str, int]:
    """Maintenance: drop records of workspaces cleaned more than 24 h ago."""
    before = rt.clock.now_ms() - CLEANED_RETENTION_MS
    found = await rt.store.run(lambda: workspace_store.cleaned_before(before))
    for repo, workspace_id in found:
        await rt.registry.ask(msg.KIND, repo, msg.DeleteWorkspace(workspace_id))
    return {"purged": len(found)}
