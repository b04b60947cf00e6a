"""What a command handler works with: the host's tools, the relay, and its journal entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import trio

from relay.daemon.config import DaemonSettings
from relay.daemon.git import Git
from relay.daemon.journal import Journal, SessionRecord
from relay.daemon.outcome import JSON
from relay.daemon.paths import BaseDir
from relay.daemon.tmux import Tmux


class RelayPort(Protocol):
    """The relay calls a handler makes besides reporting its own outcome."""

    async def report_workspace(self, body: JSON) -> JSON | None:
        """``POST /api/workspaces``; None when the relay has no such route."""

    async def register_agent(self, body: JSON) -> JSON | None:
        """``POST /api/agents``; None when it could not be done."""


@dataclass(frozen=True, slots=True)
class Host:
    """The long-lived things every command shares."""

    orchestrator_id: str
    relay_url: str
    settings: DaemonSettings
    base: BaseDir
    git: Git
    tmux: Tmux
    journal: Journal
    relay: RelayPort


@dataclass(frozen=True, slots=True)
class Context:
    """One command's view: the host, its id, and whether it resumes an interrupted run."""

    host: Host
    command_id: str
    command_type: str
    resuming: bool = False
    prior: JSON | None = None  # the interrupted run's last checkpoint

    @property
    def settings(self) -> DaemonSettings:
        return self.host.settings

    @property
    def base(self) -> BaseDir:
        return self.host.base

    @property
    def git(self) -> Git:
        return self.host.git

    @property
    def tmux(self) -> Tmux:
        return self.host.tmux

    async def checkpoint(self, data: JSON) -> None:
        await trio.to_thread.run_sync(self.host.journal.checkpoint, self.command_id, data)

    async def sessions(self) -> list[SessionRecord]:
        return await trio.to_thread.run_sync(self.host.journal.sessions)
