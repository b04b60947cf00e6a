"""Workspace routes: records, the status actions, merge and cleanup."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field
from quart import Blueprint
from quart_schema import document_request

from relay.actors import repo as repos
from relay.actors.repo.rules import action_icon, check_action, transitions_json
from relay.auth.access import Resource, normalise_path
from relay.domain.commands import Command
from relay.domain.orchestrators import Orchestrator
from relay.domain.workspaces import (
    ACTIONS,
    COMMAND_ACTIONS,
    PATH_MAX_LENGTH,
    REPO_ROOT_MAX_LENGTH,
    STATUSES,
    MergeOptions,
    Workspace,
)
from relay.errors import Forbidden, Invalid, NotFound
from relay.http import responses
from relay.http.auth import (
    allow,
    allow_agent,
    allow_workspace,
    limited_by,
    principal,
    requires,
    visible_workspaces,
)
from relay.http.contract import responds, str_param
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_str
from relay.store import workspaces as workspace_store

bp = Blueprint("workspaces", __name__)

Path = Field(min_length=1, max_length=PATH_MAX_LENGTH)


class CreateWorkspaceBody(Body):
    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    agent_id: str | None = Field(default=None, max_length=200)
    orchestrator_id: str | None = Field(default=None, max_length=200)
    repo_root: str = Field(min_length=1, max_length=REPO_ROOT_MAX_LENGTH)
    source_cwd: str | None = Field(default=None, min_length=1, max_length=PATH_MAX_LENGTH)
    worktree_path: str = Path
    branch: str | None = Field(default=None, max_length=255)
    base_ref: str | None = Field(default=None, max_length=255)
    base_sha: str | None = Field(default=None, max_length=64)
    mode: Literal["isolated", "shared", "inherit"] = "isolated"
    status: Literal[STATUSES] = "active"  # type: ignore[valid-type]
    metadata: dict[str, Any] = Field(default_factory=dict)


class ActionBody(Body):
    action: Literal[ACTIONS]  # type: ignore[valid-type]
    detail: str | None = Field(default=None, max_length=2000)
    agent_id: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)
    strategy: Literal["pr", "rebase-ff", "auto"] = "auto"
    delete_branch: bool = True
    pr_title: str | None = Field(default=None, max_length=240)
    pr_body: str | None = Field(default=None, max_length=8000)


async def _load(workspace_id: str) -> Workspace:
    ws = await services().runtime.store.run(lambda: workspace_store.load(workspace_id))
    if ws is None:
        raise NotFound("workspace not found")
    return ws


async def _allow_auto_merge(ws: Workspace, metadata: dict[str, Any]) -> None:
    """``metadata.autoMerge`` asks the auto-merge job to merge the workspace for the caller:
    it needs what the caller's own merge would (``command:write`` over the workspace)."""
    if metadata.get("autoMerge"):
        await allow_workspace(ws, "command:write")


@bp.post("/api/workspaces")
@responds({201: responses.WorkspaceReply, 200: responses.WorkspaceReply}, errors=(409,))
@document_request(CreateWorkspaceBody)
@requires("agent:write")
async def create_workspace() -> tuple[dict[str, Any], int]:
    body = await parse_body(CreateWorkspaceBody)
    rt = services().runtime
    now = rt.clock.now_ms()
    worktree = normalise_path(body.worktree_path)
    ws = Workspace(
        id=body.id or f"ws_{uuid.uuid4()}",
        agent_id=body.agent_id,
        orchestrator_id=body.orchestrator_id,
        repo_root=normalise_path(body.repo_root),
        source_cwd=normalise_path(body.source_cwd or body.repo_root),
        worktree_path=worktree,
        branch=body.branch,
        base_ref=body.base_ref,
        base_sha=body.base_sha,
        mode=body.mode,
        status=body.status,
        metadata=body.metadata,
        created_at=now,
        updated_at=now,
    )
    if len(ws.repo_root) > REPO_ROOT_MAX_LENGTH:  # normalising may add the leading "/"
        raise Invalid(f"repoRoot must be at most {REPO_ROOT_MAX_LENGTH} characters")
    # The orchestrator records the worktrees it makes; a token limited to agents records
    # none: merge and cleanup act on a record's paths and branch on the host.
    if limited_by("agents"):
        raise Forbidden("forbidden")
    # The new record's owners, as the body names them, and each of its paths.
    if ws.agent_id is not None:
        await allow_agent(ws.agent_id, ws.orchestrator_id)
    await allow_workspace(ws)
    await _allow_auto_merge(ws, body.metadata)
    stored, created = await repos.create_workspace(rt, ws, authorize=allow_workspace)
    return {"workspace": stored.to_json()}, 201 if created else 200


@bp.get("/api/workspaces")
@responds(
    list[responses.Workspace],
    query=(
        str_param("status", enum=STATUSES),
        str_param("repoRoot", 4096),
        str_param("agentId", 200),
    ),
)
@requires("agent:read")
async def list_workspaces() -> list[dict[str, Any]]:
    status = query_str("status")
    if status is not None and status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}")
    repo = query_str("repoRoot", max_length=REPO_ROOT_MAX_LENGTH)
    repo_root = normalise_path(repo) if repo else None
    agent_id = query_str("agentId", max_length=200)
    found = await services().runtime.store.run(
        lambda: workspace_store.search(status=status, repo_root=repo_root, agent_id=agent_id)
    )
    return [ws.to_json() for ws in await visible_workspaces(found)]


@bp.get("/api/workspace-transitions")
@responds(responses.WorkspaceTransitions)
@requires("agent:read")
async def workspace_transitions() -> dict[str, Any]:
    """From which statuses each workspace action may start; any other gets 409."""
    return {"actions": transitions_json()}


@bp.get("/api/workspaces/<workspace_id>")
@responds(responses.Workspace)
@requires("agent:read")
async def get_workspace(workspace_id: str) -> dict[str, Any]:
    ws = await _load(workspace_id)
    await allow_workspace(ws)
    return ws.to_json()


@bp.delete("/api/workspaces/<workspace_id>")
@responds(responses.DeletedWorkspace, errors=(409,))
@requires("agent:write")
async def delete_workspace(workspace_id: str) -> dict[str, Any]:
    ws = await _load(workspace_id)
    await allow_workspace(ws)
    rt = services().runtime
    note = repos.ActionNote("Workspace deleted", "ti-trash", "delete", principal().sub)
    await rt.registry.ask(repos.KIND, ws.repo_root, repos.DeleteWorkspace(ws.id, note))
    return {"ok": True, "id": ws.id}


@bp.post("/api/workspaces/<workspace_id>/actions")
@responds(
    {
        200: responses.Workspace | responses.WorkspaceActionReply,  # "status": the bare workspace
        202: responses.WorkspaceActionReply,
    },
    errors=(409,),
)
@document_request(ActionBody)
@requires("agent:write", "command:write")
async def workspace_action(workspace_id: str) -> Any:
    body = await parse_body(ActionBody)
    ws = await _load(workspace_id)
    scope = "command:write" if body.action in COMMAND_ACTIONS else "agent:write"
    await allow_workspace(ws, scope)  # the stored workspace: its agent, orchestrator and paths
    await _allow_auto_merge(ws, body.metadata)
    if body.agent_id is not None:
        await allow_agent(body.agent_id, scope=scope)  # who the caller says it acts as
    if body.action == "status":
        return ws.to_json()
    # Refused before anything is asked of an orchestrator (the repo's actor decides again,
    # on the status it holds, when it moves the workspace).
    check_action(body.action, ws)
    rt = services().runtime
    requested_by = body.agent_id or principal().sub
    metadata = {
        **body.metadata,
        **({"detail": body.detail} if body.detail else {}),
        **({"updatedByAgentId": body.agent_id} if body.agent_id else {}),
    }
    # The audit row is written by the repo actor in the commit of the change it describes.
    note = repos.ActionNote(
        title="Workspace merge" if body.action == "merge" else f"Workspace {body.action}",
        icon=action_icon(body.action),
        action=body.action,
        requested_by=principal().sub,
        detail=body.detail,
    )
    command: Command | None = None

    def allow_owner(owner: Orchestrator) -> None:
        allow(Resource(orchestrator_id=owner.id), scope)

    if body.action == "merge":
        options = MergeOptions(
            requested_by=requested_by,
            strategy=body.strategy,
            delete_branch=body.delete_branch,
            pr_title=body.pr_title,
            pr_body=body.pr_body,
            metadata=metadata,
        )
        updated, command = await repos.request_workspace_merge(
            rt, ws, options, note=note, allow_owner=allow_owner
        )
    elif body.action == "cleanup":
        updated, command = await repos.request_cleanup(
            rt, ws, requested_by, metadata, note=note, allow_owner=allow_owner
        )
    else:
        updated = await rt.registry.ask(
            repos.KIND, ws.repo_root, repos.SetStatus(ws.id, body.action, metadata, note)
        )
    if command is None:
        return {"workspace": updated.to_json()}
    return {"workspace": updated.to_json(), "command": command.to_json()}, 202
