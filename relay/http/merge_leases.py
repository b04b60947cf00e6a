"""Merge leases: who is merging into which repository, who waits, and the admin's way out."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from relay.actors import repo as repos
from relay.actors.repo.rules import WAITING_TO_MERGE, merge_queue
from relay.auth.access import normalise_path
from relay.domain.workspaces import REPO_ROOT_MAX_LENGTH
from relay.errors import Forbidden, Invalid, NotFound
from relay.http import responses
from relay.http.auth import principal, requires, visible_workspaces
from relay.http.contract import responds, str_param
from relay.http.lease_auth import allow_lease, visible_leases
from relay.http.services import services
from relay.http.validation import query_str
from relay.store import workspaces as workspace_store

bp = Blueprint("merge_leases", __name__)


@bp.get("/api/merge-leases")
@responds(list[responses.MergeLease])
@requires("command:read")
async def list_leases() -> list[dict[str, Any]]:
    leases = await services().runtime.store.run(workspace_store.leases)
    return [lease.to_json() for lease in await visible_leases(leases)]


@bp.get("/api/merge-queue")
@responds(list[responses.MergeQueueEntry])
@requires("command:read")
async def list_merge_queue() -> list[dict[str, Any]]:
    """Per repository: the lease holder and the ready / review_requested workspaces waiting,
    oldest first; leases and workspaces filtered as their own lists are."""
    store = services().runtime.store
    leases = await store.run(workspace_store.leases)
    waiting = await store.run(lambda: workspace_store.in_statuses(WAITING_TO_MERGE))
    queue = merge_queue(await visible_leases(leases), await visible_workspaces(waiting))
    return [entry.to_json() for entry in queue]


@bp.delete("/api/merge-leases")
@responds(responses.ReleasedLease, errors=(404,), query=(str_param("repoRoot", 4096),))
@requires("token:admin")
async def force_release() -> dict[str, Any]:
    caller = principal()
    if not (caller.is_root or caller.has_scope("token:admin")):
        raise Forbidden("forbidden")
    repo = query_str("repoRoot", max_length=REPO_ROOT_MAX_LENGTH)
    if repo is None:
        raise Invalid("repoRoot is required")
    repo_root = normalise_path(repo)
    lease = await allow_lease(repo_root)
    # Audited by the repo actor, in the commit that releases the lease.
    released = await repos.force_release(
        services().runtime, repo_root, lease.workspace_id, caller.sub
    )
    if released is None:
        raise NotFound("merge lease not found")
    return {"released": released.to_json()}
