"""Path safety: only paths that resolve inside the base dir pass."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from relay.daemon.paths import BaseDir, PathRefused


@pytest.fixture
def base(base_dir: Path) -> BaseDir:
    return BaseDir.at(base_dir)


def test_path_inside_passes_resolved(base: BaseDir, base_dir: Path) -> None:
    (base_dir / "repo").mkdir()
    assert base.check(str(base_dir / "repo"), "repoRoot") == base.root / "repo"
    assert base.check(str(base_dir / "not-yet" / "x"), "worktreePath") == base.root / "not-yet/x"


def test_dot_dot_cannot_escape(base: BaseDir, base_dir: Path) -> None:
    with pytest.raises(PathRefused, match="outside the base dir"):
        base.check(str(base_dir / "repo" / ".." / ".." / "elsewhere"), "worktreePath")
    assert base.check(str(base_dir / "a" / ".." / "b"), "cwd") == base.root / "b"


def test_symlink_escape_is_refused(base: BaseDir, base_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, base_dir / "link")
    with pytest.raises(PathRefused, match="outside the base dir"):
        base.check(str(base_dir / "link"), "worktreePath")
    with pytest.raises(PathRefused, match="outside the base dir"):
        base.check(str(base_dir / "link" / "sub"), "worktreePath")


def test_symlinked_base_dir_is_resolved(tmp_path: Path, base_dir: Path) -> None:
    os.symlink(base_dir, tmp_path / "alias")
    aliased = BaseDir.at(tmp_path / "alias")
    (base_dir / "repo").mkdir()
    assert (
        aliased.check(str(tmp_path / "alias" / "repo"), "repoRoot") == base_dir.resolve() / "repo"
    )
    assert aliased.check(str(base_dir / "repo"), "repoRoot") == base_dir.resolve() / "repo"


def test_sibling_with_common_prefix_is_outside(base: BaseDir, base_dir: Path) -> None:
    with pytest.raises(PathRefused):
        base.check(str(base_dir) + "-other/repo", "repoRoot")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "cwd is required"),
        ("", "cwd is required"),
        (42, "cwd is required"),
        ("relative/path", "must be an absolute path"),
        ("/x\x00y", "NUL"),
    ],
)
def test_unusable_values_are_refused(base: BaseDir, value: object, message: str) -> None:
    with pytest.raises(PathRefused, match=message):
        base.check(value, "cwd")


def test_state_dir_is_off_limits_but_worktrees_are_not(base: BaseDir) -> None:
    with pytest.raises(PathRefused, match="state dir"):
        base.check(str(base.state_dir / "journal.sqlite3"), "worktreePath")
    with pytest.raises(PathRefused, match="state dir"):
        base.check(str(base.state_dir), "worktreePath")
    assert base.check(str(base.worktrees_dir / "repo-x"), "worktreePath") == (
        base.worktrees_dir / "repo-x"
    )


def test_worktrees_dir_must_be_inside(base_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(PathRefused):
        BaseDir.at(base_dir, tmp_path / "elsewhere")
