"""Path safety: every path a command names must resolve (symlinks too) inside the base dir."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR_NAME = ".relay"


class PathRefused(Exception):
    """A command named a path outside the base dir (or no usable path at all)."""


def within(path: Path, root: Path) -> bool:
    """``path`` is ``root`` or lies below it, component-wise (``/srv/ab`` is not in ``/srv/a``)."""
    return path == root or root in path.parents


@dataclass(frozen=True, slots=True)
class BaseDir:
    """The directory a daemon owns: its commands may touch nothing outside it.

    The state dir (``BASE/.relay``: journal, state file) is off limits to commands,
    except the worktrees dir when it is kept there.
    """

    root: Path
    state_dir: Path
    worktrees_dir: Path

    @classmethod
    def at(cls, base_dir: Path, worktrees_dir: Path | None = None) -> BaseDir:
        root = Path(os.path.realpath(base_dir))
        state = root / STATE_DIR_NAME
        worktrees = Path(os.path.realpath(worktrees_dir)) if worktrees_dir else state / "worktrees"
        if not within(worktrees, root):
            raise PathRefused(f"the worktrees dir {worktrees} is outside the base dir {root}")
        return cls(root=root, state_dir=state, worktrees_dir=worktrees)

    def check(self, value: object, what: str) -> Path:
        """The resolved path ``value`` names, if it lies inside the base dir.

        Raises:
            PathRefused: ``value`` is missing, not an absolute path, or resolves (after
                ``..`` and symlinks) outside the base dir or into the state dir.
        """
        if not isinstance(value, str) or not value:
            raise PathRefused(f"{what} is required")
        if "\x00" in value:
            raise PathRefused(f"{what} contains a NUL byte")
        if not os.path.isabs(value):
            raise PathRefused(f"{what} must be an absolute path, not {value!r}")
        resolved = Path(os.path.realpath(value))
        if not within(resolved, self.root):
            raise PathRefused(f"{what} {value} is outside the base dir {self.root}")
        if within(resolved, self.state_dir) and not within(resolved, self.worktrees_dir):
            raise PathRefused(f"{what} {value} is inside the orchestrator's state dir")
        return resolved

    def check_optional(self, value: object, what: str) -> Path | None:
        return None if value is None else self.check(value, what)
