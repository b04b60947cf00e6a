"""The ``relay`` command: ``relay serve`` (and, as they land, more)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from relay import __version__
from relay.bootstrap import ensure_credentials
from relay.settings import Settings

cli = typer.Typer(
    help="relay: the control plane for fleets of AI coding agents.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings(**flags: Any) -> Settings:
    """Flags override RELAY_* environment variables, which override defaults."""
    return Settings(**{name: value for name, value in flags.items() if value is not None})


def _version(value: bool) -> None:
    if value:
        typer.echo(f"relay {__version__}")
        raise typer.Exit


@cli.callback()
def main_options(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """relay: the control plane for fleets of AI coding agents."""


@cli.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Bind address (env RELAY_HOST, default 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (env RELAY_PORT, default 7420)")] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Data directory: SQLite file, root token, secret (env RELAY_DATA_DIR)"),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="sqlite://PATH or postgres://USER@HOST/DB (env RELAY_DATABASE_URL)"),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="Log level (env RELAY_LOG_LEVEL, default INFO)")
    ] = None,
) -> None:
    """Run the relay server (HTTP API, live dashboard, maintenance jobs)."""
    settings = _settings(
        host=host, port=port, data_dir=data_dir, database_url=database_url, log_level=log_level
    )
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    credentials = ensure_credentials(settings)
    if credentials.generated_root_token:
        typer.echo(
            f"Generated a root token in {credentials.root_token_path} (mode 0600).\n"
            f"Use it as a bearer token, e.g.:\n"
            f'  curl -H "Authorization: Bearer $(cat {credentials.root_token_path})" '
            f"http://{settings.host}:{settings.port}/api/agents"
        )
    typer.echo(f"relay {__version__} listening on http://{settings.host}:{settings.port}")
    from relay.serve import run

    run(settings)


def main() -> None:
    cli()
