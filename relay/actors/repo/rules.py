"""Workspace and merge-lease rules as pure functions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from relay.domain.commands import Command
from relay.domain.workspaces import STATUSES, MergeLease, Workspace, WorkspaceStatus

MERGEABLE: frozenset[str] = frozenset({"active", "ready", "review_requested", "conflict"})
RECONCILABLE: frozenset[str] = frozenset({"active", "ready"})

STATUS_OF_ACTION: dict[str, WorkspaceStatus] = {
    "conflict-found": "conflict",
    "request-review": "review_requested",
    "merge-plan": "merge_planned",
    "abandon": "abandoned",
    "cleanup": "cleanup_requested",
}

ICON_OF_ACTION = {
    "merge": "ti-git-merge",
    "cleanup": "ti-trash",
    "conflict-found": "ti-alert-triangle",
}


def action_icon(action: str) -> str:
    return ICON_OF_ACTION.get(action, "ti-git-branch")


def can_merge(workspace: Workspace) -> bool:
    return workspace.status in MERGEABLE


def lease_expired(lease: MergeLease, now: int) -> bool:
    return lease.expires_at <= now


def lease_held_message(lease: MergeLease) -> str:
    return (
        f"a merge is already in progress for {lease.repo_root} "
        f"(workspace {lease.workspace_id}); retry after it settles"
    )


def with_status(
    workspace: Workspace, status: WorkspaceStatus, now: int, metadata: dict[str, Any] | None = None
) -> Workspace:
    merged = {**workspace.metadata, **(metadata or {})}
    return replace(workspace, status=status, metadata=merged, updated_at=now)


def merge_outcome(workspace: Workspace, command: Command, now: int) -> Workspace | None:
    """The workspace after its merge command settled; None if the command is not its merge.

    succeeded → merged (with the result); failed with ``result.conflict`` → conflict;
    any other failure, a cancel or an expiry → back to ready with the error.
    """
    if (
        workspace.status != "merge_planned"
        or workspace.metadata.get("mergeCommandId") != command.id
    ):
        return None
    result = command.result if isinstance(command.result, dict) else {}
    if command.status == "succeeded":
        return with_status(
            workspace, "merged", now, {"mergeResult": command.result, "mergedAt": now}
        )
    error = command.error or f"merge command {command.status}"
    if command.status == "failed" and result.get("conflict") is True:
        return with_status(
            workspace, "conflict", now, {"mergeError": error, "mergeResult": command.result}
        )
    return with_status(workspace, "ready", now, {"mergeError": error})


def planned_for(workspace: Workspace | None, command_id: str) -> bool:
    """True while ``workspace`` waits for the merge ``command_id`` (planned, not settled)."""
    return (
        workspace is not None
        and workspace.status == "merge_planned"
        and workspace.metadata.get("mergeCommandId") == command_id
    )


def merge_aborted(workspace: Workspace, error: str, now: int) -> Workspace:
    """Back to the status the merge was planned from (remembered at plan time), with the error."""
    previous = workspace.metadata.get("statusBeforeMerge")
    status: WorkspaceStatus = previous if previous in MERGEABLE else "ready"
    return with_status(workspace, status, now, {"mergeError": error})


def cleanup_aborted(
    workspace: Workspace, command_id: str, error: str, now: int
) -> Workspace | None:
    """Back to the status remembered when the cleanup ``command_id`` began; None if it is not
    that cleanup's to undo."""
    if (
        workspace.status != "cleanup_requested"
        or workspace.metadata.get("cleanupCommandId") != command_id
    ):
        return None
    previous = workspace.metadata.get("statusBeforeCleanup")
    status: WorkspaceStatus = previous if previous in STATUSES else "ready"
    return with_status(workspace, status, now, {"cleanupError": error})


def cleanup_outcome(workspace: Workspace, command: Command, now: int) -> Workspace | None:
    """succeeded → cleaned; otherwise back to the status it had, with the error."""
    if workspace.metadata.get("cleanupCommandId") != command.id:
        return None
    if workspace.status != "cleanup_requested":
        return None
    if command.status == "succeeded":
        return with_status(workspace, "cleaned", now, {"cleanedAt": now})
    previous = workspace.metadata.get("statusBeforeCleanup", "ready")
    error = command.error or f"cleanup command {command.status}"
    return with_status(workspace, previous, now, {"cleanupError": error})


def reconcile_outcome(
    workspace: Workspace, command: Command, now: int
) -> tuple[Workspace | None, bool]:
    """``(updated, removed)`` for a succeeded ``workspace.reconcile`` result.

    Acts only on workspaces still active/ready: a status someone has since moved
    on (merge_planned, abandoned, …) is never overwritten.
    """
    result = command.result if isinstance(command.result, dict) else {}
    status = result.get("status")
    if command.status != "succeeded" or workspace.status not in RECONCILABLE:
        return None, False
    if result.get("removed") is True:
        return None, True
    if status not in STATUSES:
        return None, False
    updated = with_status(
        workspace,
        status,
        now,
        {"reconcileResult": command.result, "reconcileCommandId": command.id, "reconciledAt": now},
    )
    return updated, False
