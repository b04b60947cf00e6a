"""One Settings object: flags override ``RELAY_*`` environment variables override defaults."""

from __future__ import annotations

import re
from pathlib import Path

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from relay.domain.tokens import SCOPES

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_SCHEMES = ("sqlite://", "postgres://", "postgresql://")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("relay", appauthor=False))


class IntegrationToken(BaseModel):
    """A static credential for an outside integration (``RELAY_INTEGRATION_TOKENS``).

    Given as a JSON list, e.g.
    ``[{"name": "ci", "token": "…", "scopes": ["agent:read"], "perMinute": 120}]``.
    Each token may make at most ``perMinute`` requests in any 60-second window.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    name: str = Field(min_length=1, max_length=100)
    token: str = Field(min_length=16, max_length=1024, repr=False)
    scopes: tuple[str, ...] = ()
    per_minute: int = Field(default=60, ge=1, le=1_000_000, alias="perMinute")

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [scope for scope in scopes if scope not in SCOPES]
        if unknown:
            raise ValueError(f"unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}")
        return scopes


class RedactPattern(BaseModel):
    """An extra redaction pattern (``RELAY_MEMORY_REDACT_PATTERNS``), given as a JSON list,
    e.g. ``[{"name": "ticket", "pattern": "TKT-[0-9]{6}"}]``; applied after the built-in list.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    pattern: str = Field(min_length=1, max_length=2000)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(
                f"pattern {pattern!r} is not a valid regular expression: {exc}"
            ) from None
        if compiled.match(""):
            # A pattern matching nothing would redact between every character.
            raise ValueError(f"pattern {pattern!r} matches the empty string")
        return pattern


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
    keep_alive_seconds: float = Field(
        default=65, gt=0, description="an idle HTTP keep-alive connection is closed after this"
    )
    instance_lock_check_seconds: float = Field(
        default=5, gt=0, description="how often a serving relay checks it still holds its store"
    )
    shutdown_grace_seconds: float = Field(
        default=10, gt=0, description="on SIGTERM, requests still running get this long to end"
    )

    # Leader election on PostgreSQL (README "Running highly available").
    advertise_url: str | None = Field(
        default=None,
        description="this relay's URL as clients reach it; default http://HOST:PORT",
    )
    leader_lease_seconds: float = Field(
        default=15, gt=0, description="a leader that stops renewing is replaced after this"
    )
    leader_renew_deadline_seconds: float = Field(
        default=10, gt=0, description="an active that could not renew for this long steps down"
    )
    leader_retry_seconds: float = Field(
        default=2, gt=0, description="how often every relay renews or tries to take the lease"
    )

    heartbeat_interval_seconds: int = Field(default=10, ge=1)
    agent_stale_seconds: float = Field(default=30, gt=0)
    agent_offline_seconds: float = Field(default=300, gt=0)
    orchestrator_stale_seconds: float = Field(default=30, gt=0)
    orchestrator_offline_seconds: float = Field(default=300, gt=0)

    command_ack_timeout_seconds: float = Field(
        default=60, gt=0, description="redeliver a delivered command not acknowledged by then"
    )
    command_default_ttl_seconds: int = Field(default=600, ge=1, le=86_400)
    wake_ttl_seconds: int = Field(
        default=300,
        ge=1,
        le=86_400,
        description="an agent.wake not taken by its orchestrator by then expires",
    )

    merge_lease_ttl_seconds: float = Field(
        default=900, gt=0, description="a merge lease not released by then expires"
    )

    actor_idle_seconds: float = Field(
        default=60, gt=0, description="passivate actors idle this long"
    )
    ask_timeout_seconds: float = Field(default=10, gt=0)
    store_timeout_seconds: float = Field(default=10, gt=0)
    config_max_value_bytes: int = Field(
        default=256 * 1024, ge=1, description="largest config value, as compact JSON in bytes"
    )

    # The live event stream (GET /api/events).
    sse_keepalive_seconds: float = Field(
        default=15, gt=0, description="a ': keep-alive' comment after this much silence"
    )
    sse_client_buffer: int = Field(
        default=1024, ge=1, description="events buffered per SSE client; past it, it is dropped"
    )
    sse_batch_window_seconds: float = Field(
        default=0.025,
        ge=0,
        description="hand committed events to SSE clients at most this often (a burst, one write)",
    )
    stream_ticket_seconds: float = Field(
        default=60, gt=0, description="lifetime of a single-use stream ticket"
    )

    token_ttl_seconds: int = Field(
        default=86_400,
        ge=60,
        description="lifetime of tokens the relay mints (admin default, runner tokens, re-mints)",
    )
    integration_tokens: list[IntegrationToken] = Field(
        default_factory=list, description="JSON list of {name, token, scopes, perMinute}"
    )

    # Maintenance: how often each job runs (RELAY_JOB_<NAME>_SECONDS), and what it keeps.
    job_agent_reaper_seconds: float = Field(default=10, gt=0)
    job_orchestrator_reaper_seconds: float = Field(default=10, gt=0)
    job_command_expiry_seconds: float = Field(default=5, gt=0)
    job_merge_lease_expiry_seconds: float = Field(default=10, gt=0)
    job_auto_merge_seconds: float = Field(default=30, gt=0)
    job_workspace_purge_seconds: float = Field(default=3600, gt=0)
    job_token_pruning_seconds: float = Field(default=3600, gt=0)
    job_activity_retention_seconds: float = Field(default=3600, gt=0)
    job_stream_retention_seconds: float = Field(default=3600, gt=0)
    job_garbage_collection_seconds: float = Field(default=300, gt=0)
    stream_retention_days: float = Field(
        default=7, gt=0, description="how far back Last-Event-ID replay can reach"
    )
    activity_retention_days: float = Field(
        default=30, gt=0, description="activity events older than this are deleted"
    )
    token_record_retention_days: float = Field(
        default=30, gt=0, description="token records expired longer than this are deleted"
    )
    mcp_token_ttl_seconds: int = Field(
        default=30 * 86_400,
        ge=60,
        le=365 * 86_400,
        description="lifetime of MCP tokens: .mcp.json headers are static, so re-mint before",
    )
    # Messaging (spec/messaging.md).
    message_ttl_seconds: int = Field(
        default=604_800, ge=60, le=2_592_000, description="a message's default ttlSeconds"
    )
    message_max_attempts: int = Field(
        default=5, ge=1, le=20, description="a message's default maxAttempts"
    )
    inbox_lease_seconds: int = Field(
        default=60, ge=5, le=3600, description="an inbox fetch's default lease"
    )
    channel_max_recipients: int = Field(
        default=200, ge=1, description="a channel post matching more agents is refused (409)"
    )
    # By Little's law, sends in flight = throughput x latency: one relay accepts about 330
    # direct sends a second at saturation, so 64 in flight means each waits about 200 ms.
    # More than that is a backlog, not throughput.
    max_sends_in_flight: int = Field(
        default=64,
        ge=1,
        description="sends handled at once; past it a send is refused at once (503, Retry-After)",
    )
    message_retention_days: float = Field(
        default=30, gt=0, description="messages expired longer than this are deleted"
    )
    job_inbox_lease_expiry_seconds: float = Field(default=5, gt=0)
    job_message_expiry_seconds: float = Field(default=30, gt=0)
    job_message_retention_seconds: float = Field(default=3600, gt=0)
    integration_event_retention_days: float = Field(
        default=7, gt=0, description="integration events (and their dedupe) are kept this long"
    )
    job_integration_retention_seconds: float = Field(default=3600, gt=0)
    # Tasks (spec/tasks.md).
    task_max_attempts: int = Field(
        default=3, ge=1, le=20, description="a task's default maxAttempts"
    )
    task_lease_seconds: int = Field(
        default=300, ge=30, le=3600, description="a task claim's default leaseSeconds"
    )
    job_task_lease_expiry_seconds: float = Field(default=5, gt=0)
    # Automations (spec/tasks.md).
    automation_dispatch_keep: int = Field(
        default=200, ge=1, description="dispatch results kept per automation"
    )
    job_automation_schedule_seconds: float = Field(default=5, gt=0)
    # Artifacts (spec/tasks.md).
    artifact_dir: Path | None = Field(
        default=None, description="where artifact blobs live; default: data_dir/artifacts"
    )
    artifact_max_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1, description="largest artifact upload (413 past it)"
    )
    artifact_gc_grace_seconds: float = Field(
        default=3600, ge=0, description="artifact-gc spares unnamed blobs younger than this"
    )
    job_artifact_gc_seconds: float = Field(default=3600, gt=0)
    job_message_delivery_repair_seconds: float = Field(default=60, gt=0)
    # Memory (spec/memory.md).
    memory_max_body_chars: int = Field(
        default=16_000, ge=1, le=1_000_000, description="longest memory body, in characters"
    )
    memory_redact_patterns: list[RedactPattern] = Field(
        default_factory=list,
        description="JSON list of {name, pattern} redacted after the built-in list",
    )
    job_memory_rescan_seconds: float = Field(default=3600, gt=0)
    memory_broker_max_chars: int = Field(
        default=8000, ge=200, le=200_000, description="the broker's default maxChars budget"
    )

    @model_validator(mode="after")
    def _election_times_nest(self) -> Settings:
        # The deadline must pass before the lease expires, so a live active steps down before
        # anyone may take over; and at least one retry must fit in the deadline.
        if not self.leader_retry_seconds < self.leader_renew_deadline_seconds:
            raise ValueError("RELAY_LEADER_RETRY_SECONDS must be below the renew deadline")
        if not self.leader_renew_deadline_seconds < self.leader_lease_seconds:
            raise ValueError("RELAY_LEADER_RENEW_DEADLINE_SECONDS must be below the lease")
        return self

    @field_validator("advertise_url")
    @classmethod
    def _advertise_url_is_http(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^https?://[^/\s]+/?$", value):
            raise ValueError("must be http(s)://HOST[:PORT] (no path)")
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, level: str) -> str:
        if level.upper() not in LOG_LEVELS:
            raise ValueError(f"unknown log level {level!r}; levels are {', '.join(LOG_LEVELS)}")
        return level.upper()

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(DATABASE_SCHEMES):
            scheme = url.partition("://")[0] if "://" in url else url
            raise ValueError(
                f"unsupported database {scheme!r}: use sqlite://PATH or postgres://USER@HOST/DB"
            )
        return url

    def resolved_artifact_dir(self) -> Path:
        return self.artifact_dir if self.artifact_dir is not None else self.data_dir / "artifacts"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{self.data_dir / 'relay.sqlite3'}"
