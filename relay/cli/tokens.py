"""``relay token create|list|revoke``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from relay.cli.app import (
    DEFAULT_URL,
    DataDirOption,
    RelayUrlOption,
    RootTokenOption,
    admin_call,
    cli,
)

token_cli = typer.Typer(
    help="Issue, list and revoke component tokens (needs the root token or token:admin).",
    no_args_is_help=True,
)
cli.add_typer(token_cli, name="token")


@token_cli.command("create")
def token_create(
    sub: Annotated[str, typer.Option(help="Who the token is for, e.g. orchestrator:host1")],
    profile: Annotated[
        str | None,
        typer.Option(help="provider-agent, orchestrator, integration or dashboard"),
    ] = None,
    role: Annotated[str | None, typer.Option(help="Role (default: the profile's)")] = None,
    scope: Annotated[
        list[str] | None, typer.Option(help="A scope (repeat); default: the profile's")
    ] = None,
    constraint: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE (repeat), e.g. orchestrators=o1 or cwd=/srv/work"),
    ] = None,
    ttl_seconds: Annotated[int | None, typer.Option(help="Lifetime (default: the relay's)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reply, not the token")] = False,
    relay_url: RelayUrlOption = DEFAULT_URL,
    root_token: RootTokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Issue a token and print it (only), so `TOKEN=$(relay token create …)` works.

    For a host daemon: TOKEN=$(relay token create --profile orchestrator --sub
    orchestrator:HOST), then RELAY_TOKEN=$TOKEN relay orchestrator --base-dir DIR.
    """
    from relay.daemon.admin import parse_constraints

    try:
        constraints = parse_constraints(constraint or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--constraint") from None
    body: dict[str, Any] = {"sub": sub}
    for key, value in (
        ("profile", profile),
        ("role", role),
        ("scope", scope or None),
        ("constraints", constraints or None),
        ("ttlSeconds", ttl_seconds),
    ):
        if value is not None:
            body[key] = value
    reply = admin_call(relay_url, root_token, data_dir, "POST", "/api/tokens", body)
    typer.echo(json.dumps(reply, indent=2) if as_json else reply["token"])


@token_cli.command("list")
def token_list(
    relay_url: RelayUrlOption = DEFAULT_URL,
    root_token: RootTokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """List token records (never the tokens themselves) as JSON."""
    typer.echo(
        json.dumps(admin_call(relay_url, root_token, data_dir, "GET", "/api/tokens"), indent=2)
    )


@token_cli.command("revoke")
def token_revoke(
    jti: Annotated[str, typer.Argument(help="The token's jti (see `relay token list`)")],
    relay_url: RelayUrlOption = DEFAULT_URL,
    root_token: RootTokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a token by its jti (an unknown jti is deny-listed too, with a warning)."""
    from urllib.parse import quote

    reply = admin_call(
        relay_url, root_token, data_dir, "DELETE", f"/api/tokens/{quote(jti, safe='')}"
    )
    typer.echo(json.dumps(reply, indent=2))
    if reply.get("record") is None:
        # The relay deny-lists any jti it is given (a token it minted but no longer has a
        # record of must still die); a typo would pass silently without this line.
        typer.echo(
            f"relay token: {jti} is not a known token record; deny-listed it anyway", err=True
        )
