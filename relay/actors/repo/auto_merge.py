"""The auto-merge job: merge ready workspaces that asked for it, one per repository per
round, through the same lease and flow as a dashboard merge."""

from __future__ import annotations

import logging
from typing import Any

from relay.actors.repo.flows import NO_ONLINE_OWNER, AllowOwner, request_workspace_merge
from relay.actors.runtime.context import Runtime
from relay.auth.access import normalise_path
from relay.domain.config import STEWARD_KEY, STEWARD_NAMESPACE
from relay.domain.orchestrators import Orchestrator
from relay.domain.workspaces import MergeOptions, Workspace
from relay.errors import Conflict, Forbidden
from relay.store import config as config_store
from relay.store import workspaces as workspace_store

log = logging.getLogger("relay.actors.repo")


async def auto_merge(rt: Runtime) -> dict[str, int]:
    """Maintenance: merge ready workspaces that asked for it, one per repo per round.

    A workspace opts in with ``metadata.autoMerge``; the steward config can enable a
    repo with ``autoMerge: true`` (every repo) or ``autoMerge: [repoRoot, …]``. A held
    lease or an offline owner is not an error: the workspace waits for the next round.
    """
    steward = await rt.store.run(lambda: config_store.get_value(STEWARD_NAMESPACE, STEWARD_KEY))
    enabled = steward.get("autoMerge") if isinstance(steward, dict) else None
    candidates = await rt.store.run(workspace_store.auto_merge_candidates)
    started = waiting = 0
    tried: set[str] = set()
    for ws in candidates:
        if ws.repo_root in tried or not _auto_merge_enabled(ws, enabled):
            continue
        tried.add(ws.repo_root)
        try:
            await request_workspace_merge(
                rt,
                ws,
                MergeOptions(requested_by="auto-merge", strategy="auto"),
                allow_owner=_named_host(ws),
            )
            started += 1
        except Conflict as exc:
            waiting += 1
            if exc.message == NO_ONLINE_OWNER:
                # Never merged for it either: a workspace of the same repository recorded
                # under another, online, host may go this round.
                tried.discard(ws.repo_root)
            log.info("auto_merge_waiting workspace=%s reason=%s", ws.id, exc.message)
        except Forbidden:
            # Never merged for it: the repo's other ready workspaces may go this round.
            tried.discard(ws.repo_root)
            log.warning("auto_merge_refused workspace=%s reason=not its host", ws.id)
    return {"started": started, "waiting": waiting}


def _named_host(ws: Workspace) -> AllowOwner:
    """The job merges a record on the host it names, never on another whose baseDir holds
    its paths: whoever recorded it may cover the one it names and not the other."""

    def allow_owner(owner: Orchestrator) -> None:
        if ws.orchestrator_id is not None and owner.id != ws.orchestrator_id:
            raise Forbidden("forbidden")

    return allow_owner


def _auto_merge_enabled(ws: Workspace, steward: Any) -> bool:
    if ws.metadata.get("autoMerge"):
        return True
    if steward is True:
        return True
    repos = steward.get("repos") if isinstance(steward, dict) else steward
    return isinstance(repos, list) and ws.repo_root in {normalise_path(str(r)) for r in repos}
