"""Which workspace a worktree was made for, and the check before a command removes,
detaches or deletes what one holds.

Paths and branches come from a workspace's label, so two workspaces can name the same
worktree: the daemon records the one it made it for in the worktree's own git dir (never
among its files) and acts on it only for that one.
"""

from __future__ import annotations

from pathlib import Path

import trio

from relay.daemon.git import Git
from relay.daemon.outcome import CommandFailed


async def main_worktree(git: Git, path: Path) -> Path:
    """The main worktree of the repository ``path`` is in (the first one git lists)."""
    listing = await git.worktrees(path)
    if not listing or listing[0].bare:
        raise CommandFailed(f"{path} is not in a repository with a working tree")
    return listing[0].path


# In the worktree's own git dir (never in its files): which workspace it was made for.
_OWNER_FILE = "relay-workspace"


async def owner_of(git: Git, worktree: Path) -> str | None:
    """The workspace the daemon made ``worktree`` for; None for one made before owners
    were kept (or by hand), which is reused as before."""
    marker = Path(await git.out(worktree, "rev-parse", "--absolute-git-dir")) / _OWNER_FILE
    try:
        return (await trio.Path(marker).read_text()).strip() or None
    except FileNotFoundError:
        return None


async def check_owned(git: Git, repo: Path, worktree: Path, workspace_id: str | None) -> None:
    """Before a command removes, detaches or deletes what ``worktree`` holds: it is not in
    the main worktree (the user's checkout), and it belongs to ``workspace_id``."""
    await refuse_main(git, repo, worktree)
    await check_owner(git, worktree, workspace_id)


async def refuse_main(git: Git, repo: Path, path: Path) -> None:
    """CommandFailed when ``path`` lies in the repository's main worktree (itself or a
    directory of it: git answers for the checkout it is in)."""
    # Both as git prints them: absolute, symlinks resolved.
    top = Path(await git.out(path, "rev-parse", "--show-toplevel"))
    if top == await main_worktree(git, repo):
        raise CommandFailed(f"{path} is in the repository's main worktree; not touching it")


async def check_owner(git: Git, worktree: Path, workspace_id: str | None) -> None:
    """CommandFailed when the daemon recorded ``worktree`` for another workspace."""
    owner = await owner_of(git, worktree)
    if owner is not None and owner != workspace_id:
        raise CommandFailed(f"{worktree} is the worktree of workspace {owner}, not {workspace_id}")


async def mark_owner(git: Git, worktree: Path, workspace_id: str) -> None:
    marker = Path(await git.out(worktree, "rev-parse", "--absolute-git-dir")) / _OWNER_FILE
    await trio.Path(marker).write_text(workspace_id + "\n")
