"""``relay orchestrator``: the host daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from relay.cli.app import cli


@cli.command()
def orchestrator(
    relay_url: Annotated[
        list[str] | None,
        typer.Option(
            metavar="URL",
            help="The relay's URL (env RELAY_URL, default http://127.0.0.1:7420). Several "
            "relays (an active and its standbys): comma-separated, or repeat the flag; the "
            "daemon talks to one at a time and follows a standby to the active",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="Token to register with, from `relay token create --profile orchestrator` "
            "(better: env RELAY_TOKEN, as a flag shows in ps); after that the runtime token "
            "kept in BASE_DIR/.relay is used"
        ),
    ] = None,
    base_dir: Annotated[
        Path | None,
        typer.Option(help="Directory this host's commands may touch (env RELAY_BASE_DIR)"),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="Display name (env RELAY_ORCHESTRATOR_NAME, default the host name)"),
    ] = None,
    tmux_socket: Annotated[
        str | None,
        typer.Option(help="tmux -L socket for sessions (env RELAY_ORCHESTRATOR_TMUX_SOCKET)"),
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="Log level (env RELAY_LOG_LEVEL, default INFO)")
    ] = None,
) -> None:
    """Run the host daemon: register with a relay and carry out its commands here."""
    from pydantic import ValidationError

    from relay.daemon import DaemonError, DaemonSettings, run
    from relay.daemon.logs import configure

    flags: dict[str, Any] = {
        "url": relay_url or None,
        "token": token,
        "base_dir": base_dir,
        "name": name,
        "tmux_socket": tmux_socket,
        "log_level": log_level,
    }
    try:
        settings = DaemonSettings(
            **{key: value for key, value in flags.items() if value is not None}
        )
    except ValidationError as exc:
        for error in exc.errors():
            where = str(error["loc"][0]) if error["loc"] else "settings"
            typer.echo(f"relay orchestrator: {_FLAG.get(where, where)}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    configure(settings.log_level)
    try:
        run(settings)
    except DaemonError as exc:
        typer.echo(f"relay orchestrator: {exc}", err=True)
        raise typer.Exit(2) from None


_FLAG = {
    "RELAY_BASE_DIR": "--base-dir (or RELAY_BASE_DIR)",
    "base_dir": "--base-dir (or RELAY_BASE_DIR)",
    "RELAY_URL": "--relay-url (or RELAY_URL)",
    "url": "--relay-url (or RELAY_URL)",
}
