"""The pure branch-name check agrees with ``git check-ref-format --branch``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from relay.daemon.git import valid_branch_name

NAMES = [
    "main",
    "relay/fix-bug-1a2b",
    "feature/x.y",
    "v1.2",
    "a@b",
    "-starts-with-dash",
    "--upload-pack=x",
    "has space",
    "tilde~1",
    "caret^",
    "colon:x",
    "q?",
    "star*",
    "br[acket",
    "back\\slash",
    "double..dot",
    "ends.",
    "ends/",
    "/starts",
    "a//b",
    "x.lock",
    "dir/x.lock/y",
    ".hidden",
    "dir/.hidden",
    "at@{brace",
    "HEAD",
    "ctrl\x01char",
    "del\x7f",
    "ünïcode",
]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("name", NAMES)
def test_agrees_with_git(name: str, tmp_path: Path) -> None:
    git_says = (
        subprocess.run(
            ["git", "check-ref-format", "--branch", name],
            capture_output=True,
            check=False,
            cwd=tmp_path,
        ).returncode
        == 0
    )
    assert valid_branch_name(name) is git_says


def test_at_alone_is_refused() -> None:
    # git's --branch reads "@" as "the current branch"; as a name it is forbidden.
    assert not valid_branch_name("@")
