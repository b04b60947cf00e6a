"""The messages WorkspaceIdsActor understands; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.runtime.bridge import Ask

KIND = "workspace-ids"
# One index for the whole relay: a workspace id is unique across repositories.
KEY = "all"


@dataclass(frozen=True, slots=True)
class Claim(Ask[bool]):
    """Reserve ``workspace_id`` for ``repo_root`` before the repo's actor records it.

    Replies True when this claim took the id, False when the repository already had it
    (a re-create, idempotent). Raises Conflict when another repository uses the id.
    """

    workspace_id: str
    repo_root: str
    # The repository the store's record of the id names, as the caller read it just
    # before (None: no record). It covers ids this actor has not seen (created before
    # its activation, or by another process); ids claimed through it are in its memory.
    stored_owner: str | None = None


@dataclass(frozen=True, slots=True)
class Release(Ask[None]):
    """Forget that ``repo_root`` holds ``workspace_id`` (its record was deleted, or the
    create that claimed it failed). A no-op when the id is held by another repository.

    Asked by the create flow, told by the repo's actor (which never waits on another actor).
    """

    workspace_id: str
    repo_root: str
