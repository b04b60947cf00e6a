"""The ``relay`` Typer app and what its commands share: the admin options and call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from relay import __version__
from relay.settings import default_data_dir

cli = typer.Typer(
    help="relay: the control plane for fleets of AI coding agents.",
    no_args_is_help=True,
    add_completion=False,
)


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


RelayUrlOption = Annotated[
    str, typer.Option(envvar="RELAY_URL", help="The relay's URL (env RELAY_URL)")
]
RootTokenOption = Annotated[
    str | None,
    typer.Option(
        envvar="RELAY_ROOT_TOKEN",
        help="Root (or token:admin) token (env RELAY_ROOT_TOKEN); default: DATA_DIR/root-token",
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        envvar="RELAY_DATA_DIR",
        help="A local relay's data dir, to read its root token "
        f"(env RELAY_DATA_DIR, default {default_data_dir()})",
    ),
]
DEFAULT_URL = "http://127.0.0.1:7420"


def admin_call(
    url: str,
    root_token: str | None,
    data_dir: Path | None,
    method: str,
    path: str,
    body: Any = None,
    *,
    command: str = "relay token",
) -> Any:
    from relay.daemon.admin import admin_token, call
    from relay.daemon.client import RelayRejected, RelayUnavailable

    token = admin_token(root_token, data_dir or default_data_dir())
    if token is None:
        typer.echo(f"{command}: pass --root-token (or RELAY_ROOT_TOKEN, or --data-dir)", err=True)
        raise typer.Exit(2)
    try:
        return call(url, token, method, path, body)
    except RelayRejected as exc:
        typer.echo(f"{command}: the relay refused: {exc.status} {exc.message}", err=True)
        raise typer.Exit(1) from None
    except RelayUnavailable as exc:
        typer.echo(f"{command}: the relay is unreachable: {exc}", err=True)
        raise typer.Exit(1) from None
