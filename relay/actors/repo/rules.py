"""Workspace and merge-lease rules as pure functions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from relay.domain.commands import Command
from relay.domain.workspaces import STATUSES, MergeLease, Workspace, WorkspaceStatus
from relay.errors import Conflict

# The status machine: from which statuses each workspace action may start. The action
# route refuses the rest (409, nothing changed), ``GET /api/workspace-transitions`` serves
# it as it stands, and the dashboard offers only what it allows. A finished workspace
# (merged, abandoned, cleaned) is never re-opened by a status action; a planned merge may
# still turn out to conflict; cleanup may be asked for again while one waits (for an
# offline owner). Purging the record (DELETE /api/workspaces/:id) is not an action here.
TRANSITIONS: dict[str, tuple[WorkspaceStatus, ...]] = {
    "status": STATUSES,
    "conflict-found": ("active", "ready", "conflict", "review_requested", "merge_planned"),
    "request-review": ("active", "ready", "conflict", "review_requested"),
    "merge-plan": ("active", "ready", "conflict", "review_requested"),
    "merge": ("active", "ready", "conflict", "review_requested"),
    "abandon": ("active", "ready", "conflict", "review_requested"),
    "cleanup": (
        "active",
        "ready",
        "conflict",
        "review_requested",
        "merged",
        "abandoned",
        "cleanup_requested",
    ),
}

# Where a status action may move a workspace while its merge runs; that merge's success
# still makes it merged (abandoned stays abandoned: someone gave it up).
SETTLED_BY_ITS_MERGE: tuple[WorkspaceStatus, ...] = (
    "merge_planned",
    "conflict",
    "review_requested",
)
MERGE_IN_PROGRESS = "a merge is in progress for this workspace; retry after it settles"

MERGEABLE: frozenset[str] = frozenset(TRANSITIONS["merge"])
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


# Workspaces that wait for their repository's merge lease, as the merge queue lists them.
WAITING_TO_MERGE: tuple[WorkspaceStatus, ...] = ("ready", "review_requested")


@dataclass(frozen=True, slots=True)
class MergeQueueEntry:
    """One repository: its merge lease (if held) and the workspaces waiting to merge."""

    repo_root: str
    lease: MergeLease | None
    waiting: tuple[Workspace, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "repoRoot": self.repo_root,
            "lease": self.lease.to_json() if self.lease else None,
            "waiting": [ws.to_json() for ws in self.waiting],
        }


def merge_queue(
    leases: Iterable[MergeLease], workspaces: Iterable[Workspace]
) -> list[MergeQueueEntry]:
    """One entry per repository with a lease or a workspace waiting (``WAITING_TO_MERGE``),
    by repository root; waiting oldest ``updatedAt`` first (then id)."""
    held = {lease.repo_root: lease for lease in leases}
    waiting: dict[str, list[Workspace]] = {}
    for ws in workspaces:
        if ws.status in WAITING_TO_MERGE:
            waiting.setdefault(ws.repo_root, []).append(ws)
    return [
        MergeQueueEntry(
            repo_root=repo,
            lease=held.get(repo),
            waiting=tuple(sorted(waiting.get(repo, ()), key=lambda ws: (ws.updated_at, ws.id))),
        )
        for repo in sorted(held.keys() | waiting.keys())
    ]


def transitions_json() -> dict[str, list[str]]:
    """The table as ``GET /api/workspace-transitions`` serves it."""
    return {action: list(statuses) for action, statuses in TRANSITIONS.items()}


def may_start(action: str, status: str) -> bool:
    return status in TRANSITIONS.get(action, ())


def check_action(action: str, workspace: Workspace) -> None:
    """Raises Conflict ``workspace is <status>; cannot <action>`` unless ``TRANSITIONS``
    lets ``action`` start from the workspace's status."""
    if not may_start(action, workspace.status):
        raise Conflict(f"workspace is {workspace.status}; cannot {action}")


def action_icon(action: str) -> str:
    return ICON_OF_ACTION.get(action, "ti-git-branch")


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
    any other failure, a cancel or an expiry → back to ready with the error. A workspace
    someone reported ``conflict-found`` for while its merge ran (then maybe asked for a
    review) is merged if the merge succeeded after all: the branch is in the repository.
    It is left as it is otherwise.
    """
    if workspace.metadata.get("mergeCommandId") != command.id:
        return None
    if command.status == "succeeded" and workspace.status in SETTLED_BY_ITS_MERGE:
        return with_status(
            workspace, "merged", now, {"mergeResult": command.result, "mergedAt": now}
        )
    if workspace.status != "merge_planned":
        return None
    result = command.result if isinstance(command.result, dict) else {}
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


def status_before_cleanup(workspace: Workspace) -> str:
    """The status a cleanup returns to if it fails. A cleanup asked for again while one
    waits keeps what the first remembered: returning to cleanup_requested would strand it."""
    if workspace.status == "cleanup_requested":
        previous = workspace.metadata.get("statusBeforeCleanup")
        return previous if previous in STATUSES and previous != "cleanup_requested" else "ready"
    return workspace.status


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


def settles_here(workspace: Workspace, command: Command) -> bool:
    """Whether ``command``'s settle may move ``workspace``. A reconcile is a host reporting
    on its own worktree: one reported by another host than the one the workspace is
    recorded under (a reconcile queued for an id another owner recorded since) moves
    nothing. A merge or cleanup the relay queued itself, on the host holding the paths."""
    if command.type != "workspace.reconcile" or workspace.orchestrator_id is None:
        return True
    return command.target_kind == "orchestrator" and command.target == workspace.orchestrator_id


def reconcile_outcome(
    workspace: Workspace, command: Command, now: int
) -> tuple[Workspace | None, bool]:
    """``(updated, removed)`` for a succeeded ``workspace.reconcile`` result.

    Moves only workspaces still active/ready: a status someone has since moved on
    (merge_planned, abandoned, …) is never overwritten, though the result's ``git`` facts
    (ahead/behind, changed files) still replace ``metadata.git``.
    """
    result = command.result if isinstance(command.result, dict) else {}
    status = result.get("status")
    if command.status != "succeeded":
        return None, False
    git = result.get("git")
    facts = {"git": git} if isinstance(git, dict) else {}
    if workspace.status not in RECONCILABLE:
        if not facts or workspace.metadata.get("git") == git:
            return None, False
        # Not a move: ``updatedAt`` (the merge queue's order) stays.
        return replace(workspace, metadata={**workspace.metadata, **facts}), False
    if result.get("removed") is True:
        return None, True
    if status not in STATUSES:
        return None, False
    # The facts live in metadata.git once, not again inside the stored result.
    stored = {key: value for key, value in result.items() if key != "git"}
    updated = with_status(
        workspace,
        status,
        now,
        {
            **facts,
            "reconcileResult": stored,
            "reconcileCommandId": command.id,
            "reconciledAt": now,
        },
    )
    return updated, False
