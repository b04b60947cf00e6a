"""First start: the data dir, and the root token and signing secret kept in it (mode 0600)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from relay.settings import Settings
from relay.startup import StartupError, one_line

ROOT_TOKEN_FILE = "root-token"  # noqa: S105 - a file name
SECRET_FILE = "secret"  # noqa: S105 - a file name


@dataclass(frozen=True, slots=True)
class Credentials:
    root_token: str
    secret: str
    generated_root_token: bool
    root_token_path: Path


def ensure_credentials(settings: Settings) -> Credentials:
    """Use the configured credentials, else the data dir's, else generate and keep new ones.

    Raises:
        StartupError: the data dir is not a writable directory (or cannot be made one).
    """
    data_dir = settings.data_dir
    try:
        return _ensure_credentials(settings, data_dir)
    except OSError as exc:
        raise StartupError(f"data dir {data_dir}: {exc.strerror or one_line(exc)}") from None


def _ensure_credentials(settings: Settings, data_dir: Path) -> Credentials:
    if data_dir.exists() and not data_dir.is_dir():
        raise StartupError(f"data dir {data_dir} is not a directory")
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise StartupError(f"data dir {data_dir} is not writable")
    root_path = data_dir / ROOT_TOKEN_FILE
    generated = False
    root_token = settings.root_token
    if not root_token:
        root_token, generated = _read_or_create(
            root_path, lambda: "rt_" + secrets.token_urlsafe(32)
        )
    secret = settings.secret
    if not secret:
        secret, _ = _read_or_create(data_dir / SECRET_FILE, lambda: secrets.token_urlsafe(48))
    return Credentials(root_token, secret, generated, root_path)


def _read_or_create(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    if path.exists():
        return path.read_text().strip(), False
    value = make()
    # O_EXCL: two relays starting on one data dir must not both write a different token.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value, True
