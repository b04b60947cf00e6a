"""Merge leases: which a caller sees and may force-release, judged by the workspace each
lease is held for as stored, as the workspace routes judge it (``visible_workspaces``),
never by the repository a request names."""

from __future__ import annotations

from collections.abc import Iterable

from relay.auth.access import Resource
from relay.domain.workspaces import MergeLease
from relay.errors import Forbidden, NotFound
from relay.http.auth import allow, can_see, limited_by, principal, visible_workspaces
from relay.http.services import services
from relay.store import workspaces as workspace_store


async def visible_leases(leases: Iterable[MergeLease]) -> list[MergeLease]:
    """For lists: the leases in repositories the caller's ``cwd`` covers whose stored
    workspace it may touch. A repository's path alone would show a token limited to
    orchestrator o1, or to agent a1, the lease of o2's merge: its workspace, holder and
    command."""
    found = [lease for lease in leases if can_see(Resource(cwd=lease.repo_root))]
    caller = principal()
    if not caller.constrained or not found:
        return found  # nothing to judge, so no store read
    ids = {lease.workspace_id for lease in found}
    stored = await services().runtime.store.run(lambda: workspace_store.load_many(ids))
    visible = {ws.id for ws in await visible_workspaces(stored)}
    gone = ids - {ws.id for ws in stored}
    # A lease whose workspace is gone (deleting a workspace releases its lease in the same
    # commit, so only an older row) names a repository and a holder taken from the merge
    # request, nothing stored that says whose merge it was: a caller limited by
    # orchestrator or agent is shown none; one limited by paths alone judges it by its
    # repository, as it always did.
    orphans_shown = not (limited_by("orchestrators") or limited_by("agents"))
    return [
        lease
        for lease in found
        if lease.workspace_id in visible or (lease.workspace_id in gone and orphans_shown)
    ]


async def allow_lease(repo_root: str) -> MergeLease:
    """Force-releasing the lease of ``repo_root``: 403 unless the caller's ``cwd`` covers
    the repository, 404 ``merge lease not found`` when it has none, 403 unless the caller
    sees the stored lease (``visible_leases``). Returns that lease: release it by its
    workspace (``repo.ForceRelease``), so a lease taken since is not the one released."""
    allow(Resource(cwd=repo_root))
    lease = await services().runtime.store.run(lambda: workspace_store.load_lease(repo_root))
    if lease is None:
        raise NotFound("merge lease not found")
    if not await visible_leases([lease]):
        raise Forbidden("forbidden")
    return lease
