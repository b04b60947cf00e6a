"""Running ``git``: an argv list (never a shell), a timeout, a fixed environment.

Plus the few queries the workspace commands are built from (``rev_parse``,
``is_ancestor``, ``changed_paths``, ``worktrees``, …). Every call raises
``GitFailed`` (with git's own message) when git does, unless ``check=False``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import trio

from relay.daemon.outcome import CommandFailed

# Never prompt, never open an editor, parseable English messages.
GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": "true",
    "GIT_SEQUENCE_EDITOR": "true",
    "GIT_MERGE_AUTOEDIT": "no",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "LC_ALL": "C",
    "LANG": "C",
}
# Variables that would point git at another repository than the one we name.
_REPO_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX")


class GitFailed(CommandFailed):
    """git exited non-zero or ran out of time; the message says which command and why."""


@dataclass(frozen=True, slots=True)
class GitResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def message(self) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return " ".join(line.strip() for line in text[-3:]) or f"exit status {self.returncode}"


@dataclass(frozen=True, slots=True)
class TreeState:
    """What one ``rev-parse`` tells about a worktree."""

    common_dir: Path
    branch: str | None  # short name; None when HEAD is detached (a rebase in progress too)
    rebasing: bool


@dataclass(frozen=True, slots=True)
class Worktree:
    path: Path
    head: str | None
    branch: str | None  # short name, None when detached or bare
    bare: bool = False


async def real_path(path: str | Path) -> Path:
    """``path`` with symlinks resolved (off the trio thread: it touches the disk)."""
    return Path(await trio.to_thread.run_sync(os.path.realpath, path))


_REF_FORBIDDEN = frozenset(" ~^:?*[\\\x7f")


def valid_branch_name(name: str) -> bool:
    """git's rules for a branch name (``git check-ref-format --branch``), as a pure check."""
    if (
        not name
        or name in ("@", "HEAD")
        or name.startswith(("-", "/"))
        or name.endswith(("/", "."))
    ):
        return False
    if ".." in name or "@{" in name or "//" in name:
        return False
    if any(ch in _REF_FORBIDDEN or ord(ch) < 0x20 for ch in name):
        return False
    return not any(part.startswith(".") or part.endswith(".lock") for part in name.split("/"))


def command_env() -> dict[str, str]:
    """Our environment without relay credentials (children never see the daemon's token)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("RELAY_")}


class Git:
    def __init__(self, *, timeout: float = 120, executable: str = "git") -> None:
        self.timeout = timeout
        self.executable = executable
        env = command_env()
        for name in _REPO_VARS:
            env.pop(name, None)
        self._env = {**env, **GIT_ENV}

    async def run(
        self, cwd: Path, *args: str, check: bool = True, timeout: float | None = None
    ) -> GitResult:
        """``git -C cwd args…``; raises ``GitFailed`` on a non-zero exit (if ``check``)."""
        argv = [self.executable, "-C", str(cwd), *args]
        limit = self.timeout if timeout is None else timeout
        with trio.move_on_after(limit) as scope:
            done = await trio.run_process(
                argv,
                stdin=subprocess.DEVNULL,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
                env=self._env,
            )
        if scope.cancelled_caught:
            raise GitFailed(f"git {args[0]} timed out after {limit:g} s in {cwd}")
        result = GitResult(
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
        )
        if check and not result.ok:
            raise GitFailed(f"git {' '.join(args[:2])} failed in {cwd}: {result.message()}")
        return result

    async def out(self, cwd: Path, *args: str) -> str:
        return (await self.run(cwd, *args)).stdout.strip()

    # -- queries ----------------------------------------------------------------------------

    async def rev_parse(self, cwd: Path, ref: str) -> str | None:
        """The commit ``ref`` names, or None when it names none."""
        result = await self.run(
            cwd, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False
        )
        return result.stdout.strip() if result.ok else None

    async def is_ancestor(self, cwd: Path, ancestor: str, descendant: str) -> bool:
        result = await self.run(
            cwd, "merge-base", "--is-ancestor", ancestor, descendant, check=False
        )
        if result.returncode not in (0, 1):
            raise GitFailed(f"git merge-base failed in {cwd}: {result.message()}")
        return result.returncode == 0

    async def count(self, cwd: Path, revisions: str) -> int:
        return int(await self.out(cwd, "rev-list", "--count", revisions))

    async def left_right_count(self, cwd: Path, left: str, right: str) -> tuple[int, int]:
        """``(commits only in left, commits only in right)``: behind and ahead of ``left``."""
        raw = await self.out(cwd, "rev-list", "--left-right", "--count", f"{left}...{right}")
        only_left, only_right = raw.split()
        return int(only_left), int(only_right)

    async def changed_since(self, cwd: Path, base: str) -> list[str]:
        """Paths the commits on HEAD changed since it left ``base`` (their merge base)."""
        raw = (await self.run(cwd, "diff", "--name-only", "-z", f"{base}...HEAD", "--")).stdout
        return [path for path in raw.split("\0") if path]

    async def changed_paths(self, cwd: Path) -> list[str]:
        """Paths with uncommitted changes, untracked files included (ignored ones not)."""
        raw = (
            await self.run(cwd, "status", "--porcelain=v1", "-z", "--untracked-files=all")
        ).stdout
        paths: list[str] = []
        fields = raw.split("\0")
        index = 0
        while index < len(fields):
            record = fields[index]
            index += 1
            if len(record) < 4:
                continue
            paths.append(record[3:])
            if record[0] in "RC":  # a rename/copy is followed by its source path
                index += 1
        return paths

    async def unmerged_paths(self, cwd: Path) -> list[str]:
        raw = (await self.run(cwd, "diff", "--name-only", "-z", "--diff-filter=U")).stdout
        return sorted({path for path in raw.split("\0") if path})

    async def current_branch(self, cwd: Path) -> str | None:
        result = await self.run(cwd, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return result.stdout.strip() if result.ok else None

    async def common_dir(self, cwd: Path) -> Path:
        raw = await self.out(cwd, "rev-parse", "--path-format=absolute", "--git-common-dir")
        return await real_path(raw)

    async def toplevel(self, cwd: Path) -> Path:
        return await real_path(await self.out(cwd, "rev-parse", "--show-toplevel"))

    async def branch_exists(self, cwd: Path, branch: str) -> bool:
        return await self.rev_parse(cwd, f"refs/heads/{branch}") is not None

    async def tree_state(self, worktree: Path) -> TreeState | None:
        """The worktree's repository, checked-out branch and rebase state; None if not one."""
        result = await self.run(
            worktree,
            "rev-parse",
            "--path-format=absolute",
            "--git-common-dir",
            "--git-path",
            "rebase-merge",
            "--git-path",
            "rebase-apply",
            "--symbolic-full-name",
            "HEAD",
            check=False,
        )
        lines = result.stdout.splitlines()
        if not result.ok or len(lines) != 4:
            return None
        common, merge_dir, apply_dir, head = lines
        rebasing = await trio.Path(merge_dir).exists() or await trio.Path(apply_dir).exists()
        branch = head.removeprefix("refs/heads/") if head.startswith("refs/heads/") else None
        return TreeState(await real_path(common), branch, rebasing)

    async def branch_tips(self, repo: Path, *branches: str) -> dict[str, str]:
        """The commit each existing branch points at (missing branches are left out)."""
        wanted = {f"refs/heads/{branch}": branch for branch in branches}
        raw = await self.out(repo, "for-each-ref", "--format=%(refname)%00%(objectname)", *wanted)
        tips: dict[str, str] = {}
        for line in raw.splitlines():
            ref, _, sha = line.partition("\0")
            if ref in wanted:
                tips[wanted[ref]] = sha
        return tips

    async def merge_base(self, repo: Path, a: str, b: str) -> str | None:
        result = await self.run(repo, "merge-base", a, b, check=False)
        return result.stdout.strip() if result.ok else None

    async def worktrees(self, repo: Path) -> list[Worktree]:
        raw = (await self.run(repo, "worktree", "list", "--porcelain", "-z")).stdout
        found: list[Worktree] = []
        path: Path | None = None
        head: str | None = None
        branch: str | None = None
        bare = False
        for item in [*raw.split("\0"), ""]:
            if not item:
                if path is not None:
                    found.append(Worktree(path, head, branch, bare))
                path, head, branch, bare = None, None, None, False
                continue
            key, _, value = item.partition(" ")
            if key == "worktree":
                path = await real_path(value)
            elif key == "HEAD":
                head = value
            elif key == "branch":
                branch = value.removeprefix("refs/heads/")
            elif key == "bare":
                bare = True
        return found

    async def rebase_in_progress(self, worktree: Path) -> bool:
        for name in ("rebase-merge", "rebase-apply"):
            raw = await self.out(
                worktree, "rev-parse", "--path-format=absolute", "--git-path", name
            )
            if await trio.Path(raw).exists():
                return True
        return False
