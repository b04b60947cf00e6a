"""One Settings object: flags override ``RELAY_*`` environment variables override defaults."""

from __future__ import annotations

from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("relay", appauthor=False))


class Settings(BaseSettings):
    """Everything the relay reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="RELAY_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=7420, ge=0, le=65535)
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str | None = Field(
        default=None, description="sqlite://PATH or postgres://…; default: SQLite in data_dir"
    )
    root_token: str | None = None
    secret: str | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: str = "INFO"

    heartbeat_interval_seconds: int = Field(default=10, ge=1)
    agent_stale_seconds: float = Field(default=30, gt=0)
    agent_offline_seconds: float = Field(default=300, gt=0)
    orchestrator_stale_seconds: float = Field(default=30, gt=0)
    orchestrator_offline_seconds: float = Field(default=300, gt=0)

    command_ack_timeout_seconds: float = Field(
        default=60, gt=0, description="redeliver a delivered command not acknowledged by then"
    )
    command_default_ttl_seconds: int = Field(default=600, ge=1, le=86_400)

    merge_lease_ttl_seconds: float = Field(
        default=900, gt=0, description="a merge lease not released by then expires"
    )

    actor_idle_seconds: float = Field(
        default=60, gt=0, description="passivate actors idle this long"
    )
    ask_timeout_seconds: float = Field(default=10, gt=0)
    store_timeout_seconds: float = Field(default=10, gt=0)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{self.data_dir / 'relay.sqlite3'}"
