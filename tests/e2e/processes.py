"""Real processes for end-to-end tests and benchmarks: ``relay serve`` and
``relay orchestrator`` on 127.0.0.1, and a bounded wait that polls instead of sleeping."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

ROOT_TOKEN = "e2e-root-token-0123456789abcdef"
POLL_SECONDS = 0.02


class TimedOut(AssertionError):
    pass


def wait_for(check: Callable[[], T | None], *, timeout: float = 10, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimedOut(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tmux_socket_path(name: str) -> Path:
    """Where ``tmux -L name`` keeps its socket (left behind after kill-server)."""
    return Path(os.environ.get("TMUX_TMPDIR", "/tmp")) / f"tmux-{os.getuid()}" / name


def clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RELAY_")}
    env.update(extra)
    return env


class RelayProcess:
    """``relay serve`` on 127.0.0.1 with its own data dir and root token."""

    def __init__(self, data_dir: Path, *, port: int | None = None, **env: str) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = env
        self.log_path = data_dir / "relay.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.api = self._client()

    def _client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {ROOT_TOKEN}"}, timeout=30
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> RelayProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = {
            "RELAY_ROOT_TOKEN": ROOT_TOKEN,
            "RELAY_DATA_DIR": str(self.data_dir),
            "RELAY_HEARTBEAT_INTERVAL_SECONDS": "1",
            "RELAY_LOG_LEVEL": "INFO",
        }
        env = clean_env(**{**settings, **self.env})
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "relay", "serve", "--port", str(self.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        try:
            wait_for(self._ready, timeout=timeout, what=f"relay on port {self.port} to be ready")
        except BaseException:
            self.stop(signal.SIGKILL)  # a fixture that fails here never reaches its close()
            raise
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"relay exited ({self.proc.returncode}):\n{self.log()}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def close(self) -> None:
        self.stop()
        self.api.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- API helpers ---------------------------------------------------------------------------

    def token(self, sub: str, profile: str = "orchestrator") -> str | None:
        """A token from ``POST /api/tokens`` (None if this relay has no such route)."""
        response = self.api.post("/api/tokens", json={"sub": sub, "profile": profile})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        token: str = response.json()["token"]
        return token

    def has_route(self, path: str) -> bool:
        paths = httpx.get(f"{self.url}/openapi.json", timeout=10).json().get("paths", {})
        return path in paths

    def command(self, command_id: str) -> dict[str, Any]:
        response = self.api.get(f"/api/commands/{command_id}")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def send(self, target: str, type_: str, params: dict[str, Any], **fields: Any) -> str:
        response = self.api.post(
            "/api/commands", json={"type": type_, "target": target, "params": params, **fields}
        )
        assert response.status_code == 201, response.text
        command_id: str = response.json()["command"]["id"]
        return command_id

    def settled(self, command_id: str, timeout: float = 20) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            command = self.command(command_id)
            return command if command["status"] in ("succeeded", "failed", "expired") else None

        return wait_for(check, timeout=timeout, what=f"command {command_id} to settle")

    def run(
        self, target: str, type_: str, params: dict[str, Any], timeout: float = 20
    ) -> dict[str, Any]:
        return self.settled(self.send(target, type_, params), timeout)


class DaemonProcess:
    """``relay orchestrator`` as a subprocess, with its own tmux socket."""

    def __init__(
        self,
        relay: RelayProcess,
        base_dir: Path,
        *,
        token: str,
        orchestrator_id: str,
        tmux_socket: str,
        log_path: Path,
        **env: str,
    ) -> None:
        self.relay = relay
        self.base_dir = base_dir
        self.token = token
        self.id = orchestrator_id
        self.tmux_socket = tmux_socket
        self.log_path = log_path
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> DaemonProcess:
        env = clean_env(
            RELAY_ORCHESTRATOR_ID=self.id,
            RELAY_ORCHESTRATOR_SESSION_GRACE_SECONDS="2",
            RELAY_ORCHESTRATOR_BACKOFF_MAX_SECONDS="1",
            RELAY_ORCHESTRATOR_DRAIN_SECONDS="10",
            RELAY_TOKEN=self.token,  # not --token: a flag shows in every `ps`
            **self.env,
        )
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "relay",
                "orchestrator",
                "--relay-url",
                self.relay.url,
                "--base-dir",
                str(self.base_dir),
                "--tmux-socket",
                self.tmux_socket,
                "--name",
                f"e2e {self.id}",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        try:
            self.wait_log("channel_open", timeout=timeout, after=offset)
        except BaseException:
            self.kill9()  # a fixture that fails here never reaches its terminate()
            raise
        return self

    def log(self, after: int = 0) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_bytes()[after:].decode("utf-8", "replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def wait_log(self, text: str, *, timeout: float = 10, after: int = 0) -> None:
        def check() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"daemon exited ({self.proc.returncode}):\n{self.log()}")
            return text in self.log(after)

        wait_for(check, timeout=timeout, what=f"daemon log line {text!r}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def terminate(self, timeout: float = 20) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.tmux_socket, *args], capture_output=True, text=True, check=False
        )

    def close(self) -> None:
        try:
            self.terminate()
        finally:
            self.tmux("kill-server")
            tmux_socket_path(self.tmux_socket).unlink(missing_ok=True)
