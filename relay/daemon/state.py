"""The daemon's identity on disk: ``BASE/.relay/orchestrator.json`` (mode 0600) and its lock.

The file keeps the orchestrator id (so re-registering is idempotent across restarts),
its name, the relay it registered with and the runtime token the relay returned.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import uuid
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any

STATE_FILE = "orchestrator.json"
LOCK_FILE = "daemon.lock"


class StateError(Exception):
    """The state dir cannot be used (unreadable file, another daemon holds the lock)."""


@dataclass(frozen=True, slots=True)
class OrchestratorState:
    id: str
    name: str
    relay_url: str | None = None
    token: str | None = None

    def with_token(self, token: str, relay_url: str) -> OrchestratorState:
        return replace(self, token=token, relay_url=relay_url)


def default_id(host: str | None = None) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", host or socket.gethostname()).strip("-") or "host"
    return f"orch-{slug[:40]}-{uuid.uuid4().hex[:8]}"


def ensure_state_dir(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state_dir, 0o700)


def load(state_dir: Path) -> OrchestratorState | None:
    path = state_dir / STATE_FILE
    try:
        raw: Any = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read {path}: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise StateError(f"{path} has no orchestrator id")
    return OrchestratorState(
        id=raw["id"],
        name=str(raw.get("name") or raw["id"]),
        relay_url=raw.get("relayUrl"),
        token=raw.get("token"),
    )


def save(state_dir: Path, state: OrchestratorState) -> None:
    """Write atomically (temp file, fsync, rename) with mode 0600: it holds a credential."""
    ensure_state_dir(state_dir)
    data = asdict(state)
    body = {"id": data["id"], "name": data["name"], "relayUrl": data["relay_url"]}
    body["token"] = data["token"]
    path = state_dir / STATE_FILE
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(body, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    _fsync_dir(state_dir)


def resolve(state_dir: Path, *, configured_id: str | None, name: str | None) -> OrchestratorState:
    """The kept identity, else a new one (kept once registration succeeds)."""
    kept = load(state_dir)
    if kept is not None:
        if configured_id and configured_id != kept.id:
            raise StateError(
                f"{state_dir / STATE_FILE} belongs to orchestrator {kept.id}, "
                f"not {configured_id}; remove it to re-register under a new id"
            )
        return replace(kept, name=name or kept.name)
    new_id = configured_id or default_id()
    return OrchestratorState(id=new_id, name=name or socket.gethostname() or new_id)


class DaemonLock:
    """An exclusive ``flock`` on ``BASE/.relay/daemon.lock``: one daemon per base dir.

    The kernel drops it when the process dies, ``kill -9`` included.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        ensure_state_dir(self.path.parent)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open for the daemon's life
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise StateError(
                f"another orchestrator daemon is running on this base dir ({self.path} is locked)"
            ) from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
