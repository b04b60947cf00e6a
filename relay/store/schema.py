"""Database configuration and versioned migrations (tortoise's own migration framework)."""

from __future__ import annotations

import logging
from typing import Any

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


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The tortoise config for a ``sqlite://PATH`` or ``postgres://…`` URL."""
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
        connection = database_url
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
