"""Fixtures for the daemon's unit tests: a base dir, real git repositories made in it,
and a command ``Context`` wired to an in-memory relay."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from relay.daemon.config import DaemonSettings
from relay.daemon.context import Context, Host
from relay.daemon.git import Git
from relay.daemon.journal import Journal
from relay.daemon.outcome import JSON
from relay.daemon.paths import BaseDir
from relay.daemon.tmux import Tmux
from tests.daemon.repos import make_repo


class FakeRelay:
    """An in-memory stand-in for the relay calls handlers make."""

    def __init__(self, *, has_workspaces: bool = True) -> None:
        self.workspaces: list[JSON] = []
        self.agents: list[JSON] = []
        self.has_workspaces = has_workspaces

    async def report_workspace(self, body: JSON) -> JSON | None:
        if not self.has_workspaces:
            return None
        self.workspaces.append(body)
        return {"workspace": body}

    async def register_agent(self, body: JSON) -> JSON | None:
        self.agents.append(body)
        return body


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    base = tmp_path / "base"
    base.mkdir()
    return base


@pytest.fixture
def settings(base_dir: Path) -> DaemonSettings:
    return DaemonSettings(
        url="http://127.0.0.1:9", base_dir=base_dir, tmux_socket="relay-unit-unused"
    )


@pytest.fixture
def journal(base_dir: Path) -> Iterator[Journal]:
    state = base_dir / ".relay"
    state.mkdir(exist_ok=True)
    opened = Journal(state / "journal.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def relay_fake() -> FakeRelay:
    return FakeRelay()


@pytest.fixture
def host(settings: DaemonSettings, journal: Journal, relay_fake: FakeRelay) -> Host:
    return Host(
        orchestrator_id="o-test",
        relay_url=settings.url[0],
        settings=settings,
        base=BaseDir.at(settings.base_dir),
        git=Git(timeout=30),
        tmux=Tmux(socket=settings.tmux_socket),
        journal=journal,
        relay=relay_fake,
    )


@pytest.fixture
def make_context(host: Host) -> Any:
    def make(type_: str = "test", *, resuming: bool = False, command_id: str = "cmd_t") -> Context:
        host.journal.receive(command_id, type_, {})
        return Context(host=host, command_id=command_id, command_type=type_, resuming=resuming)

    return make


@pytest.fixture
def repo(base_dir: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    return make_repo(base_dir / "repo")
