"""Workspace id rules as pure functions: one id, one repository."""

from __future__ import annotations

from typing import Literal

from relay.domain.workspaces import id_taken_message
from relay.errors import Conflict

ClaimOutcome = Literal["claimed", "already-ours"]


def claim(workspace_id: str, owner: str | None, repo_root: str) -> ClaimOutcome:
    """Whether ``repo_root`` may use ``workspace_id``, given the repository that holds it.

    Raises:
        Conflict: another repository holds the id.
    """
    if owner is None:
        return "claimed"
    if owner == repo_root:
        return "already-ours"
    raise Conflict(id_taken_message(workspace_id))


def released(owner: str | None, repo_root: str) -> bool:
    """Whether a release by ``repo_root`` frees the id (only its holder can free it)."""
    return owner is not None and owner == repo_root
