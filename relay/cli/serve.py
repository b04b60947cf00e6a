"""``relay serve``."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from relay import __version__
from relay.bootstrap import ensure_credentials
from relay.cli.app import cli
from relay.settings import Settings, default_data_dir


def _settings(**flags: Any) -> Settings:
    """Flags override RELAY_* environment variables, which override defaults."""
    return Settings(**{name: value for name, value in flags.items() if value is not None})


@cli.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (env RELAY_HOST, default 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (env RELAY_PORT, default 7420)")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Data directory: SQLite file, root token, secret "
            f"(env RELAY_DATA_DIR, default {default_data_dir()})"
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="sqlite://PATH or postgres://USER@HOST/DB (env RELAY_DATABASE_URL)"),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="DEBUG, INFO, WARNING, ERROR or CRITICAL (env RELAY_LOG_LEVEL, default INFO)"
        ),
    ] = None,
) -> None:
    """Run the relay server (HTTP API, live dashboard, maintenance jobs).

    It binds, locks its store (one relay per database), opens it, then says where it listens.

    A start that fails prints one line on stderr and exits 2.

    A relay that loses its store's lock stops and exits 1.

    On PostgreSQL every relay takes part in a leader election: one is active, the others
    are standbys that redirect (307) to it and take over when it goes. An active that loses
    leadership logs why in one line and exits 3 (its supervisor restarts it as a standby).
    Settings: RELAY_ADVERTISE_URL, RELAY_LEADER_LEASE_SECONDS (15),
    RELAY_LEADER_RENEW_DEADLINE_SECONDS (10), RELAY_LEADER_RETRY_SECONDS (2).
    """
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from relay.serve import run
    from relay.startup import LeadershipLost, StartupError, Unguarded

    try:
        settings = _settings(
            host=host, port=port, data_dir=data_dir, database_url=database_url, log_level=log_level
        )
    except ValidationError as exc:
        error = exc.errors()[0]
        where = str(error["loc"][0]) if error["loc"] else "settings"
        message = error["msg"].removeprefix("Value error, ")
        # A setting with no flag is named by its variable (RELAY_MEMORY_REDACT_PATTERNS).
        flag = _SERVE_FLAG.get(where, f"RELAY_{where.upper()}")
        typer.echo(f"relay serve: {flag}: {message}", err=True)
        raise typer.Exit(2) from None
    except SettingsError as exc:
        # A JSON-valued variable that is not JSON (RELAY_INTEGRATION_TOKENS, …).
        field = re.search(r'field "([a-z_]+)"', str(exc))
        name = f"RELAY_{field.group(1).upper()}" if field else "settings"
        typer.echo(f"relay serve: {name}: not valid JSON", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )

    def listening(binds: list[str]) -> None:
        url = binds[0] if binds else f"http://{settings.host}:{settings.port}"
        if credentials.generated_root_token:
            typer.echo(
                f"Generated a root token in {credentials.root_token_path} (mode 0600).\n"
                f"Use it as a bearer token, e.g.:\n"
                f'  curl -H "Authorization: Bearer $(cat {credentials.root_token_path})" '
                f"{url}/api/agents"
            )
        typer.echo(f"relay {__version__} listening on {' '.join(binds)}")

    try:
        credentials = ensure_credentials(settings)
        run(settings, on_listening=listening)
    except StartupError as exc:
        typer.echo(f"relay serve: {exc}", err=True)
        raise typer.Exit(2) from None
    except Unguarded as exc:
        typer.echo(f"relay serve: stopped: {exc}", err=True)
        raise typer.Exit(1) from None
    except LeadershipLost:
        # relay.election logged the one line saying why. Exit now: a thread still stuck on
        # the database (the reason, often) must not keep a deposed process alive.
        logging.shutdown()
        os._exit(3)


_SERVE_FLAG = {
    name: f"--{name.replace('_', '-')} (or RELAY_{name.upper()})"
    for name in ("host", "port", "data_dir", "database_url", "log_level")
}
