"""Workspace and merge-lease rows in and out of the store."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from tortoise.exceptions import IntegrityError

from relay.domain.workspaces import (
    MergeLease,
    Workspace,
    WorkspaceMode,
    WorkspaceStatus,
    id_taken_message,
)
from relay.errors import Conflict
from relay.store import models


def _workspace(row: models.Workspace) -> Workspace:
    return Workspace(
        id=row.id,
        agent_id=row.agent_id,
        orchestrator_id=row.orchestrator_id,
        repo_root=row.repo_root,
        source_cwd=row.source_cwd,
        worktree_path=row.worktree_path,
        branch=row.branch,
        base_ref=row.base_ref,
        base_sha=row.base_sha,
        mode=cast(WorkspaceMode, row.mode),
        status=cast(WorkspaceStatus, row.status),
        metadata=dict(row.metadata or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _columns(ws: Workspace) -> dict[str, Any]:
    return {
        "agent_id": ws.agent_id,
        "orchestrator_id": ws.orchestrator_id,
        "repo_root": ws.repo_root,
        "source_cwd": ws.source_cwd,
        "worktree_path": ws.worktree_path,
        "branch": ws.branch,
        "base_ref": ws.base_ref,
        "base_sha": ws.base_sha,
        "mode": ws.mode,
        "status": ws.status,
        "metadata": ws.metadata,
        "created_at": ws.created_at,
        "updated_at": ws.updated_at,
    }


def _lease(row: models.MergeLease) -> MergeLease:
    return MergeLease(
        repo_root=row.repo_root,
        workspace_id=row.workspace_id,
        holder=row.holder,
        command_id=row.command_id,
        acquired_at=row.acquired_at,
        expires_at=row.expires_at,
    )


async def load(workspace_id: str) -> Workspace | None:
    row = await models.Workspace.get_or_none(id=workspace_id)
    return _workspace(row) if row else None


async def load_many(workspace_ids: Iterable[str]) -> list[Workspace]:
    """The stored workspaces of these ids; an id without one is left out."""
    rows = await models.Workspace.filter(id__in=list(workspace_ids))
    return [_workspace(row) for row in rows]


async def for_repo(repo_root: str) -> list[Workspace]:
    rows = await models.Workspace.filter(repo_root=repo_root).order_by("created_at", "id")
    return [_workspace(row) for row in rows]


async def insert(ws: Workspace) -> None:
    """Raises Conflict when the id is taken (a create racing through another repository)."""
    try:
        await models.Workspace.create(id=ws.id, **_columns(ws))
    except IntegrityError:
        raise Conflict(id_taken_message(ws.id)) from None


async def update(ws: Workspace) -> None:
    await models.Workspace.filter(id=ws.id).update(**_columns(ws))


async def delete(workspace_id: str) -> None:
    await models.Workspace.filter(id=workspace_id).delete()


async def search(
    *,
    status: str | None = None,
    repo_root: str | None = None,
    agent_id: str | None = None,
    limit: int = 1000,
) -> list[Workspace]:
    query = models.Workspace.all()
    if status:
        query = query.filter(status=status)
    if repo_root:
        query = query.filter(repo_root=repo_root)
    if agent_id:
        query = query.filter(agent_id=agent_id)
    rows = await query.order_by("-updated_at", "id").limit(limit)
    return [_workspace(row) for row in rows]


async def in_statuses(statuses: Iterable[str], limit: int = 5000) -> list[Workspace]:
    """Workspaces in any of ``statuses``, least recently updated first."""
    rows = (
        await models.Workspace.filter(status__in=list(statuses))
        .order_by("updated_at", "id")
        .limit(limit)
    )
    return [_workspace(row) for row in rows]


async def cleaned_before(before_ms: int) -> list[tuple[str, str]]:
    """(repo_root, id) of workspaces cleaned before ``before_ms``."""
    rows = await models.Workspace.filter(status="cleaned", updated_at__lt=before_ms).values_list(
        "repo_root", "id"
    )
    return [(str(repo), str(workspace_id)) for repo, workspace_id in rows]


async def auto_merge_candidates() -> list[Workspace]:
    rows = await models.Workspace.filter(status="ready").order_by("updated_at", "id")
    return [_workspace(row) for row in rows]


async def load_lease(repo_root: str) -> MergeLease | None:
    row = await models.MergeLease.get_or_none(repo_root=repo_root)
    return _lease(row) if row else None


async def insert_lease(lease: MergeLease) -> None:
    """Raises an IntegrityError when another process holds the repo's lease (the backstop)."""
    await models.MergeLease.create(
        repo_root=lease.repo_root,
        workspace_id=lease.workspace_id,
        holder=lease.holder,
        command_id=lease.command_id,
        acquired_at=lease.acquired_at,
        expires_at=lease.expires_at,
    )


async def bind_lease(repo_root: str, workspace_id: str, command_id: str) -> None:
    await models.MergeLease.filter(repo_root=repo_root, workspace_id=workspace_id).update(
        command_id=command_id
    )


async def delete_lease(repo_root: str, workspace_id: str) -> None:
    await models.MergeLease.filter(repo_root=repo_root, workspace_id=workspace_id).delete()


async def leases() -> list[MergeLease]:
    return [_lease(row) for row in await models.MergeLease.all().order_by("acquired_at")]


async def expired_lease_repos(now: int) -> list[str]:
    rows = await models.MergeLease.filter(expires_at__lte=now).values_list("repo_root", flat=True)
    return [str(repo) for repo in rows]
