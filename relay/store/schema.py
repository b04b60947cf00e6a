"""Database configuration and versioned migrations (tortoise's own migration framework)."""

from __future__ import annotations

import logging
from typing import Any

from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor

from relay.store.checkpoint import BACKSTOP_PAGES

log = logging.getLogger("relay.store")

APP = "relay"


def sqlite_path(database_url: str) -> str | None:
    """The file of a ``sqlite://PATH`` URL; None for any other database."""
    if database_url.startswith("sqlite://"):
        return database_url.removeprefix("sqlite://")
    return None


def redacted(database_url: str) -> str:
    """The URL without its credentials, for logs and error messages."""
    scheme, sep, rest = database_url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


def postgres_session_settings(idle_in_transaction_seconds: float) -> dict[str, str]:
    """Server settings for every PostgreSQL connection of a relay (store and election).

    A relay that is stopped (``SIGSTOP``, a VM pause) or partitioned inside a write
    transaction would otherwise keep its ``FOR SHARE`` on the leader row (the fence) for as
    long as TCP keeps the session up, hours, and every successor's acquire would wait on
    it: the server ends such a session after ``idle_in_transaction_seconds`` (the renew
    deadline: the active gives up by then anyway), and keepalives and a user timeout end a
    dead peer's session within seconds. (Ignored over a Unix socket.)
    """
    millis = str(max(int(idle_in_transaction_seconds * 1000), 1))
    return {
        "idle_in_transaction_session_timeout": millis,
        "tcp_keepalives_idle": "5",
        "tcp_keepalives_interval": "2",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": millis,
    }


def tortoise_config(
    database_url: str, *, idle_in_transaction_seconds: float = 10.0
) -> dict[str, Any]:
    """The tortoise config for a ``sqlite://PATH`` or ``postgres://…`` URL.

    On PostgreSQL the connections carry ``postgres_session_settings``.
    """
    connection: str | dict[str, Any]
    path = sqlite_path(database_url)
    if path is not None:
        connection = {
            "engine": "relay.store.sqlite_inline",
            "credentials": {
                "file_path": path,
                "journal_mode": "WAL",
                # FULL: a commit is on disk before a caller's 2xx; group commit pays for it.
                "synchronous": "FULL",
                "foreign_keys": "ON",
                "busy_timeout": 5000,
                # A backstop only: relay.store.checkpoint moves the log off the commit path.
                "wal_autocheckpoint": BACKSTOP_PAGES,
            },
        }
    else:
        connection = expand_db_url(database_url)
        credentials = connection["credentials"]
        credentials["server_settings"] = {
            **postgres_session_settings(idle_in_transaction_seconds),
            **(credentials.get("server_settings") or {}),
        }
    return {
        "connections": {"default": connection},
        "apps": {
            APP: {
                "models": ["relay.store.models"],
                "migrations": "relay.store.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": False,
    }


async def migrate_to_latest(config: dict[str, Any]) -> None:
    """Apply every migration not yet applied; a data dir of any earlier version upgrades."""
    executor = MigrationExecutor(get_connection("default"), {APP: config["apps"][APP]})
    await executor.migrate(None, progress=_log_progress)


def _log_progress(event: str, app_label: str, name: str) -> None:
    log.info("migration event=%s app=%s name=%s", event, app_label, name)


# For `tortoise -c relay.store.schema.TORTOISE_ORM makemigrations --name NAME` (see README).
TORTOISE_ORM = tortoise_config("sqlite://:memory:")
