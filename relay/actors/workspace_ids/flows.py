"""Workspace id use cases on the trio side: claim an id, give a claim back."""

from __future__ import annotations

import contextlib

from relay.actors.runtime.context import Runtime
from relay.actors.workspace_ids import messages as ids
from relay.errors import Unavailable


async def claim(
    rt: Runtime, workspace_id: str, repo_root: str, *, stored_owner: str | None
) -> bool:
    """Reserve ``workspace_id`` for ``repo_root``; True when this call took it.

    ``stored_owner`` is the repository of the id's stored record, read just before
    (None: no record).

    Raises:
        Conflict: another repository uses the id.
    """
    return await rt.registry.ask(
        ids.KIND, ids.KEY, ids.Claim(workspace_id, repo_root, stored_owner)
    )


async def release(rt: Runtime, workspace_id: str, repo_root: str) -> None:
    """Give back a claim whose create did not happen."""
    await rt.registry.ask(ids.KIND, ids.KEY, ids.Release(workspace_id, repo_root))


def forget(rt: Runtime, workspace_id: str, repo_root: str) -> None:
    """From an actor: the workspace's record is gone; never waits for the index."""
    # Refused only while the relay stops, when the index (memory) goes too.
    with contextlib.suppress(Unavailable):
        rt.registry.tell(ids.KIND, ids.KEY, ids.Release(workspace_id, repo_root))
