"""The daemon's settings: flags override environment variables override defaults.

The four a user sets are ``RELAY_URL``, ``RELAY_TOKEN``, ``RELAY_BASE_DIR`` and
``RELAY_ORCHESTRATOR_NAME`` (or ``--relay-url``, ``--token``, ``--base-dir``,
``--name``). ``RELAY_URL`` may name several relays, comma-separated (an active and its
standbys; ``--relay-url`` may also be repeated): the daemon talks to one at a time and
moves on by the rules in ``relay.daemon.relays``. Provider commands are
``RELAY_CLAUDE_COMMAND`` / ``RELAY_CODEX_COMMAND``. Every other knob is
``RELAY_ORCHESTRATOR_<FIELD>`` (e.g. ``RELAY_ORCHESTRATOR_TMUX_SOCKET``,
``RELAY_ORCHESTRATOR_GIT_TIMEOUT_SECONDS``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from relay.daemon.relays import split_urls


class DaemonSettings(BaseSettings):
    """Everything ``relay orchestrator`` reads from its flags and environment."""

    model_config = SettingsConfigDict(
        env_prefix="RELAY_ORCHESTRATOR_", extra="ignore", populate_by_name=True
    )

    # NoDecode: RELAY_URL is "http://a,http://b", not a JSON list.
    url: Annotated[list[str], NoDecode] = Field(
        default=["http://127.0.0.1:7420"],
        validation_alias="RELAY_URL",
        description="the relays to try, in order; comma-separated in RELAY_URL",
    )
    token: str | None = Field(default=None, validation_alias="RELAY_TOKEN", repr=False)
    base_dir: Path = Field(validation_alias="RELAY_BASE_DIR")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    id: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^/\s]+$")
    log_level: str = Field(default="INFO", validation_alias="RELAY_LOG_LEVEL")

    claude_command: str = Field(default="claude", validation_alias="RELAY_CLAUDE_COMMAND")
    codex_command: str = Field(default="codex", validation_alias="RELAY_CODEX_COMMAND")
    tmux_command: str = "tmux"
    tmux_socket: str | None = Field(
        default=None, description="tmux -L socket name; default: the user's own tmux server"
    )
    git_command: str = "git"
    gh_command: str = "gh"
    worktrees_dir: Path | None = Field(
        default=None, description="where isolated workspaces go; default BASE_DIR/.relay/worktrees"
    )

    git_timeout_seconds: float = Field(default=120, gt=0)
    gh_timeout_seconds: float = Field(default=180, gt=0)
    session_grace_seconds: float = Field(
        default=10, ge=0, description="agent.shutdown: wait this long after SIGTERM, then kill"
    )
    drain_seconds: float = Field(
        default=30, ge=0, description="on SIGTERM: let running commands finish this long"
    )
    backoff_initial_seconds: float = Field(default=0.5, gt=0)
    backoff_max_seconds: float = Field(default=30, gt=0)
    long_poll_seconds: int = Field(default=25, ge=0, le=60)
    max_concurrent_commands: int = Field(default=4, ge=1, le=64)
    journal_retention_days: float = Field(default=30, gt=0)

    # Test hook (documented in tests/e2e): sleep this long in a merge between the rebase and
    # the fast-forward of the base, so a test can kill the daemon in the middle of a merge.
    test_merge_delay_seconds: float = Field(default=0, ge=0)

    @field_validator("url", mode="before")
    @classmethod
    def _http_urls(cls, value: Any) -> list[str]:
        if not isinstance(value, str | list) or not all(
            isinstance(item, str) for item in ([value] if isinstance(value, str) else value)
        ):
            raise ValueError("the relay URL must be text")
        return split_urls(value)

    @property
    def state_dir(self) -> Path:
        return self.base_dir / ".relay"
