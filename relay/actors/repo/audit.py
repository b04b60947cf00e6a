"""The audit rows of a repo's changes, built from the change itself (pure functions).

The actor writes each row in the same commit as the change it describes, so the trail
can neither miss a change nor describe one that never committed.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from relay.auth.access import normalise_path
from relay.domain.activity import ActivityInput
from relay.domain.commands import Command
from relay.domain.workspaces import MergeLease, Workspace


@dataclass(frozen=True, slots=True)
class ActionNote:
    """Who asked for a workspace action, and how its audit row reads."""

    title: str
    icon: str
    action: str
    requested_by: str
    detail: str | None = None


def place_of(ws: Workspace) -> str:
    """Where the workspace is: the common ancestor of its paths. Each of them lies within a
    path exactly when this does, so a caller limited by path reads the workspace's rows as
    it reads the workspace (``allow_workspace``)."""
    paths = (ws.worktree_path, ws.repo_root, ws.source_cwd)
    return posixpath.commonpath([normalise_path(p) for p in paths])


def action(note: ActionNote, ws: Workspace, command_id: str | None) -> ActivityInput:
    """The row of an action a caller asked for (status change, merge, cleanup, delete)."""
    return ActivityInput(
        kind="state",
        title=note.title,
        body=note.detail or ws.worktree_path,
        meta=ws.branch or ws.id,
        icon=note.icon,
        view="orchestrators",
        agent_id=ws.agent_id,
        orchestrator_id=ws.orchestrator_id,
        path=place_of(ws),
        metadata={
            "action": note.action,
            "workspaceId": ws.id,
            "repoRoot": ws.repo_root,
            "worktreePath": ws.worktree_path,
            "status": ws.status,
            "commandId": command_id,
            "requestedBy": note.requested_by,
        },
    )


def settled(ws: Workspace, command: Command, *, removed: bool) -> ActivityInput | None:
    """The row of a workspace command's settle that moved (or removed) the workspace."""
    if removed:
        return _workspace("Workspace removed (no changes)", ws, "ti-trash", command.id)
    if command.type == "workspace.merge":
        title = {"merged": "Workspace merged", "conflict": "Workspace merge conflict"}.get(
            ws.status, "Workspace merge failed"
        )
        icon = "ti-git-merge" if ws.status == "merged" else "ti-alert-triangle"
        return _workspace(title, ws, icon, command.id)
    if command.type == "workspace.cleanup":
        title = "Workspace cleaned" if ws.status == "cleaned" else "Workspace cleanup failed"
        return _workspace(title, ws, "ti-trash", command.id)
    return None


def merge_aborted(ws: Workspace, command_id: str) -> ActivityInput:
    """The planned merge was never queued (or a restart interrupted it): the plan is undone."""
    return _workspace("Workspace merge aborted", ws, "ti-alert-triangle", command_id)


def lease_expired(lease: MergeLease, orchestrator_id: str | None) -> ActivityInput:
    """``orchestrator_id``: the lease's workspace's, as the repo actor holds it."""
    return ActivityInput(
        kind="state",
        title="Merge lease expired",
        body=lease.repo_root,
        meta=lease.workspace_id,
        icon="ti-alert-triangle",
        view="orchestrators",
        metadata={**lease.to_json()},
        orchestrator_id=orchestrator_id,
        path=lease.repo_root,
    )


def lease_force_released(
    lease: MergeLease, released_by: str, orchestrator_id: str | None
) -> ActivityInput:
    return ActivityInput(
        kind="security",
        title="Merge lease force-released",
        body=lease.repo_root,
        meta=lease.workspace_id,
        icon="ti-lock-open",
        view="orchestrators",
        metadata={**lease.to_json(), "releasedBy": released_by},
        orchestrator_id=orchestrator_id,
        path=lease.repo_root,
    )


def _workspace(title: str, ws: Workspace, icon: str, command_id: str | None) -> ActivityInput:
    return ActivityInput(
        kind="state",
        title=title,
        body=ws.worktree_path,
        meta=ws.branch or ws.id,
        icon=icon,
        view="orchestrators",
        agent_id=ws.agent_id,
        orchestrator_id=ws.orchestrator_id,
        path=place_of(ws),
        metadata={
            "workspaceId": ws.id,
            "repoRoot": ws.repo_root,
            "status": ws.status,
            "commandId": command_id,
        },
    )
