"""Workspaces (git worktrees the orchestrators own) and per-repository merge leases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

JSON = dict[str, Any]

WorkspaceStatus = Literal[
    "active",
    "ready",
    "conflict",
    "review_requested",
    "merge_planned",
    "merged",
    "abandoned",
    "cleanup_requested",
    "cleaned",
]
WorkspaceMode = Literal["isolated", "shared", "inherit"]
MergeStrategy = Literal["pr", "rebase-ff", "auto"]

STATUSES: tuple[WorkspaceStatus, ...] = (
    "active",
    "ready",
    "conflict",
    "review_requested",
    "merge_planned",
    "merged",
    "abandoned",
    "cleanup_requested",
    "cleaned",
)
ACTIONS = (
    "status",
    "conflict-found",
    "request-review",
    "merge-plan",
    "merge",
    "abandon",
    "cleanup",
)
COMMAND_ACTIONS = frozenset({"merge", "cleanup"})

# A repository root is the merge lease's key (an indexed column of this width); the
# other workspace paths are plain text.
REPO_ROOT_MAX_LENGTH = 1024
PATH_MAX_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class Workspace:
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
    metadata: JSON
    created_at: int
    updated_at: int

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "agentId": self.agent_id,
            "orchestratorId": self.orchestrator_id,
            "repoRoot": self.repo_root,
            "sourceCwd": self.source_cwd,
            "worktreePath": self.worktree_path,
            "branch": self.branch,
            "baseRef": self.base_ref,
            "baseSha": self.base_sha,
            "mode": self.mode,
            "status": self.status,
            "metadata": self.metadata,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class MergeLease:
    repo_root: str
    workspace_id: str
    holder: str
    command_id: str | None
    acquired_at: int
    expires_at: int

    def to_json(self) -> JSON:
        return {
            "repoRoot": self.repo_root,
            "workspaceId": self.workspace_id,
            "holder": self.holder,
            "commandId": self.command_id,
            "acquiredAt": self.acquired_at,
            "expiresAt": self.expires_at,
        }


@dataclass(frozen=True, slots=True)
class MergeOptions:
    requested_by: str
    strategy: MergeStrategy = "auto"
    delete_branch: bool = True
    pr_title: str | None = None
    pr_body: str | None = None
    metadata: JSON | None = None


def id_taken_message(workspace_id: str) -> str:
    """Why a workspace id cannot be used: it names a workspace of another repository."""
    return f"workspace {workspace_id} already exists for another repository"
