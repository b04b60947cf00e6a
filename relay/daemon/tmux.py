"""Driving ``tmux``: sessions by exact name, on the user's server or a named socket."""

from __future__ import annotations

import subprocess
from pathlib import Path

import trio

from relay.daemon.git import command_env
from relay.daemon.outcome import CommandFailed


class TmuxFailed(CommandFailed):
    """tmux exited non-zero or timed out."""


class Tmux:
    def __init__(self, *, executable: str = "tmux", socket: str | None = None, timeout: float = 10):
        self.executable = executable
        self.socket = socket
        self.timeout = timeout
        self._env = command_env()

    def _argv(self, *args: str) -> list[str]:
        socket = ["-L", self.socket] if self.socket else []
        return [self.executable, *socket, *args]

    async def run(self, *args: str, check: bool = True) -> tuple[int, str]:
        with trio.move_on_after(self.timeout) as scope:
            done = await trio.run_process(
                self._argv(*args),
                stdin=subprocess.DEVNULL,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
                env=self._env,
            )
        if scope.cancelled_caught:
            raise TmuxFailed(f"tmux {args[0]} timed out")
        out = done.stdout.decode("utf-8", "replace")
        if check and done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip()
            raise TmuxFailed(f"tmux {args[0]} failed: {err or done.returncode}")
        return done.returncode, out

    async def has_session(self, name: str) -> bool:
        code, _ = await self.run("has-session", "-t", f"={name}", check=False)
        return code == 0

    async def list_sessions(self) -> set[str]:
        code, out = await self.run("list-sessions", "-F", "#{session_name}", check=False)
        return set(out.split()) if code == 0 else set()

    async def new_session(self, name: str, cwd: Path, argv: list[str]) -> None:
        """A detached session running ``argv`` directly (tmux execs a multi-word command)."""
        await self.run("new-session", "-d", "-s", name, "-c", str(cwd), "--", *argv)

    async def kill_session(self, name: str) -> None:
        await self.run("kill-session", "-t", f"={name}", check=False)

    async def pane_pids(self, name: str) -> list[int]:
        code, out = await self.run(
            "list-panes", "-s", "-t", f"={name}", "-F", "#{pane_pid}", check=False
        )
        return [int(pid) for pid in out.split() if pid.isdigit()] if code == 0 else []

    async def send_text(self, name: str, text: str) -> None:
        """Type ``text`` literally into the session's active pane, then Enter."""
        await self.run("send-keys", "-t", f"={name}:", "-l", text)
        await self.run("send-keys", "-t", f"={name}:", "Enter")
