"""What a workspace holds, in git's terms, for the relay to show: ``metadata.git``.

``{"ahead", "behind", "changedFiles", "changedFilesTotal", "dirty", "checkedAt"}``:
commits on the branch and not in its base and the other way round
(``rev-list --left-right --count``); the files the workspace changes against its base —
what the branch changed since it left the base, and what is not committed yet
(``status --porcelain``) — at most ``MAX_CHANGED_FILES`` of them listed, sorted, with the
full count; whether anything is uncommitted; when it was looked at (ms).
"""

from __future__ import annotations

from pathlib import Path

from relay.daemon.git import Git
from relay.daemon.journal import now_ms
from relay.daemon.outcome import JSON

MAX_CHANGED_FILES = 200


def facts(
    *, ahead: int, behind: int, committed: list[str], uncommitted: list[str], checked_at: int
) -> JSON:
    """The report, from what git said (pure: the bound and the ordering live here)."""
    changed = sorted(set(committed) | set(uncommitted))
    return {
        "ahead": ahead,
        "behind": behind,
        "changedFiles": changed[:MAX_CHANGED_FILES],
        "changedFilesTotal": len(changed),
        "dirty": bool(uncommitted),
        "checkedAt": checked_at,
    }


async def workspace_facts(git: Git, worktree: Path, base: str) -> JSON:
    """The facts of the worktree at ``worktree`` against ``base`` (a ref or a sha).

    Raises ``GitFailed`` when git does (``base`` names no commit, say).
    """
    behind, ahead = await git.left_right_count(worktree, base, "HEAD")
    committed = await git.changed_since(worktree, base)
    uncommitted = await git.changed_paths(worktree)
    return facts(
        ahead=ahead,
        behind=behind,
        committed=committed,
        uncommitted=uncommitted,
        checked_at=now_ms(),
    )
