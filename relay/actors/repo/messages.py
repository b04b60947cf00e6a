"""The messages RepoActor understands; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.actors.repo.audit import ActionNote
from relay.actors.runtime.bridge import Ask
from relay.domain.commands import Command
from relay.domain.workspaces import MergeLease, Workspace

KIND = "repo"


@dataclass(frozen=True, slots=True)
class SettleOutcome:
    workspace: Workspace | None
    removed: bool
    released: MergeLease | None


@dataclass(frozen=True, slots=True)
class Expiry:
    lease: MergeLease
    workspace: Workspace | None


@dataclass(frozen=True, slots=True)
class CreateWorkspace(Ask[tuple[Workspace, bool]]):
    """Record a workspace of this repo (idempotent on id). Replies ``(workspace, created)``."""

    workspace: Workspace


@dataclass(frozen=True, slots=True)
class SetStatus(Ask[Workspace]):
    """A status-only action (``conflict-found``, ``request-review``, ``merge-plan``,
    ``abandon``), audited with ``note`` in its commit. Replies the workspace.

    Raises NotFound, and Conflict ``workspace is <status>; cannot <action>`` when the
    transitions table does not allow ``action`` from the workspace's status.
    """

    workspace_id: str
    action: str
    metadata: dict[str, Any]
    note: ActionNote | None = None


@dataclass(frozen=True, slots=True)
class Acquire(Ask[MergeLease]):
    """Take the repo's lease for a merge of ``workspace_id``. Replies the lease.

    The lease row is bound to ``command_id`` (the merge command about to be queued) from
    the start: a lease is never stored without the command it waits for, so one whose
    command never got queued can be recognized, and released, after a restart.

    Raises Conflict when the workspace cannot merge or another merge holds the lease.
    """

    workspace_id: str
    holder: str
    ttl_ms: int
    command_id: str


@dataclass(frozen=True, slots=True)
class PlanMerge(Ask[Workspace]):
    """Move the workspace to merge_planned under the lease bound to ``command_id``.

    The actor remembers the status it planned from (``statusBeforeMerge``), for an abort.
    """

    workspace_id: str
    command_id: str
    metadata: dict[str, Any]
    note: ActionNote | None = None


@dataclass(frozen=True, slots=True)
class AbortMerge(Ask[Workspace | None]):
    """The merge command was not queued: release its lease, restore the planned-from status.

    Replies the restored workspace, or None when it was not planned for this command.
    """

    workspace_id: str
    command_id: str
    error: str


@dataclass(frozen=True, slots=True)
class Release(Ask[MergeLease | None]):
    """Release the lease if ``workspace_id`` holds it. Replies the released lease or None."""

    workspace_id: str


@dataclass(frozen=True, slots=True)
class ForceRelease(Ask[MergeLease | None]):
    """Admin: release the repo's lease if ``workspace_id`` holds it (audited). Replies the
    released lease, or None.

    The caller was authorized for the lease of that workspace: a lease taken since, for
    another workspace, may be one it could not see.
    """

    released_by: str
    workspace_id: str


@dataclass(frozen=True, slots=True)
class BeginCleanup(Ask[Workspace]):
    """Move to cleanup_requested (remembering the status to return to). Replies the workspace.

    Raises NotFound; Conflict when the transitions table does not allow ``cleanup`` from
    the workspace's status, or a merge of it holds the lease.
    """

    workspace_id: str
    command_id: str
    metadata: dict[str, Any]
    note: ActionNote | None = None


@dataclass(frozen=True, slots=True)
class AbortCleanup(Ask[Workspace | None]):
    """The cleanup command was not queued: back to the status remembered at BeginCleanup."""

    workspace_id: str
    command_id: str
    error: str


@dataclass(frozen=True, slots=True)
class CommandSettled(Ask[SettleOutcome]):
    """A merge, cleanup or reconcile command of this repo settled. Replies what changed."""

    command: Command


@dataclass(frozen=True, slots=True)
class ExpireLease(Ask[Expiry | None]):
    """Release the lease if its TTL passed; its workspace goes back to ready."""


@dataclass(frozen=True, slots=True)
class DeleteWorkspace(Ask[Workspace]):
    """Purge a workspace record (and any lease it holds). Replies the workspace."""

    workspace_id: str
    note: ActionNote | None = None
