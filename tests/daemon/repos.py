"""Real git repositories for tests: made with ``git init -b main`` and a test identity."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def commit(cwd: Path, name: str, text: str, message: str | None = None) -> str:
    (cwd / name).write_text(text)
    git(cwd, "add", "--", name)
    git(cwd, "commit", "-q", "-m", message or f"write {name}")
    return git(cwd, "rev-parse", "HEAD")


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Relay Test")
    git(path, "config", "user.email", "relay-test@example.invalid")
    git(path, "config", "commit.gpgsign", "false")
    commit(path, "README.md", "hello\n", "init")
    return path


def add_worktree(repo: Path, path: Path, branch: str, base: str = "main") -> Path:
    git(repo, "worktree", "add", "-q", "-b", branch, str(path), base)
    return path


def subjects(repo: Path, ref: str = "main") -> list[str]:
    return git(repo, "log", "--format=%s", ref).splitlines()
