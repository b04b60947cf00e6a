"""End-to-end fixtures: a real ``relay serve`` and a real ``relay orchestrator`` on
127.0.0.1, real git repositories and a private tmux server, torn down after.

The daemon's token comes from ``relay token create --profile orchestrator`` (which calls
``POST /api/tokens`` with the root token). Waits
poll the relay's API (or the daemon's log) with a deadline; nothing sleeps blindly.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.repos import make_repo
from tests.e2e.processes import ROOT_TOKEN, DaemonProcess, RelayProcess, clean_env

if shutil.which("git") is None:
    pytest.skip("git is not installed (.ci/run installs it)", allow_module_level=True)

needs_tmux = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)"
)


TOKEN_CREATE = [sys.executable, "-m", "relay", "token", "create", "--profile", "orchestrator"]


def cli_token(relay: RelayProcess, sub: str) -> str:
    """``relay token create --profile orchestrator`` against the running relay."""
    done = subprocess.run(
        [*TOKEN_CREATE, "--sub", sub, "--relay-url", relay.url],
        env=clean_env(RELAY_ROOT_TOKEN=ROOT_TOKEN),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def start_daemon(relay: RelayProcess, base_dir: Path, log_dir: Path, **env: str) -> DaemonProcess:
    orchestrator_id = f"o-e2e-{uuid.uuid4().hex[:6]}"
    token = cli_token(relay, f"orchestrator:{orchestrator_id}")
    return DaemonProcess(
        relay,
        base_dir,
        token=token,
        orchestrator_id=orchestrator_id,
        tmux_socket=f"relay-e2e-{uuid.uuid4().hex[:8]}",
        log_path=log_dir / f"{orchestrator_id}.log",
        **env,
    ).start()


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RelayProcess]:
    process = RelayProcess(tmp_path_factory.mktemp("relay")).start()
    yield process
    process.close()


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostbase").resolve()


@pytest.fixture(scope="module")
def daemon(
    relay: RelayProcess, base_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DaemonProcess]:
    process = start_daemon(relay, base_dir, tmp_path_factory.mktemp("logs"))
    yield process
    process.close()


@pytest.fixture
def repo(base_dir: Path) -> Path:
    return make_repo(base_dir / f"repo-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def fresh_pair(tmp_path: Path) -> Iterator[Callable[..., tuple[RelayProcess, DaemonProcess]]]:
    """``fresh_pair(relay_env=…, **daemon_env)`` → a relay and a daemon of this test's own."""
    started: list[Any] = []

    def make(
        relay_env: dict[str, str] | None = None, **env: str
    ) -> tuple[RelayProcess, DaemonProcess]:
        relay = RelayProcess(tmp_path / "relay", port=None, **(relay_env or {})).start()
        started.append(relay)
        base = tmp_path / "base"
        base.mkdir()
        daemon = start_daemon(relay, base.resolve(), tmp_path, **env)
        started.append(daemon)
        return relay, daemon

    yield make
    for process in reversed(started):
        process.close()
