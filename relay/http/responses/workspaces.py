"""Workspaces, their transitions, merge leases and the merge queue."""

from __future__ import annotations

from relay.domain.workspaces import WorkspaceMode, WorkspaceStatus
from relay.http.responses.base import JSONObject, Ok, Shape
from relay.http.responses.commands import Command

__all__ = [
    "DeletedWorkspace",
    "MergeLease",
    "MergeQueueEntry",
    "ReleasedLease",
    "Workspace",
    "WorkspaceActionReply",
    "WorkspaceReply",
    "WorkspaceTransitions",
]


class Workspace(Shape):
    id: str
    agent_id: str | None
    orchestrator_id: str | None
    repo_root: str
    source_cwd: str
    worktree_path: str
    branch: str | None
    base_ref: str | None
    base_sha: str | None
    mode: WorkspaceMode
    status: WorkspaceStatus
    metadata: JSONObject
    created_at: int
    updated_at: int


class WorkspaceReply(Shape):
    workspace: Workspace


class WorkspaceActionReply(Shape):
    """The workspace after the action, and the command it queued (merge) if any."""

    workspace: Workspace
    command: Command | None = None


class DeletedWorkspace(Ok):
    id: str


class MergeLease(Shape):
    repo_root: str
    workspace_id: str
    holder: str
    command_id: str | None
    acquired_at: int
    expires_at: int


class ReleasedLease(Shape):
    released: MergeLease


class MergeQueueEntry(Shape):
    """One repository: who holds its merge lease, and which workspaces wait to merge
    (ready or review_requested, oldest ``updatedAt`` first)."""

    repo_root: str
    lease: MergeLease | None
    waiting: list[Workspace]


class WorkspaceTransitions(Shape):
    """For every workspace action, the statuses it may start from."""

    actions: dict[str, list[WorkspaceStatus]]
