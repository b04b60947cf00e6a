"""The ``relay`` command: ``relay serve``, ``relay status``, ``relay orchestrator``,
``relay token …``, ``relay mcp-config``."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from relay import __version__
from relay.bootstrap import ensure_credentials
from relay.settings import Settings, default_data_dir

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


@cli.command()
def status(
    relay_url: Annotated[
        str | None,
        typer.Option(
            help="The relay's URL, or several comma-separated: the first that answers is asked "
            "(env RELAY_URL, default http://127.0.0.1:7420)"
        ),
    ] = None,
) -> None:
    """Print the cluster: the active relay, the standbys, the epoch, the last change.

    Asks GET /api/cluster (public, like /metrics) of any relay, active or standby. Exits 1
    when no relay is active, 2 when none of the URLs answers.
    """
    import httpx

    urls = [
        u.strip().rstrip("/")
        for u in (relay_url or os.environ.get("RELAY_URL") or "http://127.0.0.1:7420").split(",")
        if u.strip()
    ]
    body: dict[str, Any] | None = None
    errors: list[str] = []
    for url in urls:
        try:
            response = httpx.get(f"{url}/api/cluster", timeout=5)
            response.raise_for_status()
            body = response.json()
            break
        except (httpx.HTTPError, ValueError) as exc:
            errors.append(f"{url}: {exc}")
    if body is None:
        typer.echo(f"relay status: no relay answered ({'; '.join(errors)})", err=True)
        raise typer.Exit(2)
    typer.echo(format_cluster(body))
    if body.get("active") is None:
        raise typer.Exit(1)


def format_cluster(body: dict[str, Any]) -> str:
    """``GET /api/cluster``'s body as the lines ``relay status`` prints."""
    active = body.get("active")
    lines = [
        f"active:   {active['url']} (id {active['id']}, since {active.get('since') or '-'})"
        if active
        else "active:   none",
    ]
    standbys = body.get("standbys") or []
    if not standbys:
        lines.append("standbys: none")
    for index, standby in enumerate(standbys):
        label = "standbys:" if index == 0 else "         "
        lines.append(f"{label} {standby['url']} (id {standby['id']}, seen {standby['seenAt']})")
    lines.append(f"epoch:    {body.get('epoch')}")
    lines.append(f"changed:  {body.get('changedAt') or '-'}")
    return "\n".join(lines)


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

token_cli = typer.Typer(
    help="Issue, list and revoke component tokens (needs the root token or token:admin).",
    no_args_is_help=True,
)
cli.add_typer(token_cli, name="token")

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


def _admin_call(
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
    reply = _admin_call(relay_url, root_token, data_dir, "POST", "/api/tokens", body)
    typer.echo(json.dumps(reply, indent=2) if as_json else reply["token"])


@token_cli.command("list")
def token_list(
    relay_url: RelayUrlOption = DEFAULT_URL,
    root_token: RootTokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """List token records (never the tokens themselves) as JSON."""
    typer.echo(
        json.dumps(_admin_call(relay_url, root_token, data_dir, "GET", "/api/tokens"), indent=2)
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

    reply = _admin_call(
        relay_url, root_token, data_dir, "DELETE", f"/api/tokens/{quote(jti, safe='')}"
    )
    typer.echo(json.dumps(reply, indent=2))
    if reply.get("record") is None:
        # The relay deny-lists any jti it is given (a token it minted but no longer has a
        # record of must still die); a typo would pass silently without this line.
        typer.echo(
            f"relay token: {jti} is not a known token record; deny-listed it anyway", err=True
        )


@cli.command("mcp-config")
def mcp_config(
    agent: Annotated[str, typer.Option(help="The agent the MCP client acts as (its id)")],
    ttl_seconds: Annotated[
        int | None,
        typer.Option(help="Token lifetime (default: the relay's RELAY_MCP_TOKEN_TTL_SECONDS)"),
    ] = None,
    name: Annotated[str, typer.Option(help="The server's name under mcpServers")] = "relay",
    relay_url: RelayUrlOption = DEFAULT_URL,
    root_token: RootTokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Mint an MCP token for an agent and print only the .mcp.json block that uses it.

    E.g. relay mcp-config --agent a1 > .mcp.json in the agent's working directory.
    Exit 1: the relay refused or is unreachable; 2: no root (or token:admin) token.
    """
    from urllib.parse import quote

    body = {"ttlSeconds": ttl_seconds} if ttl_seconds is not None else {}
    path = f"/api/agents/{quote(agent, safe='')}/mcp-token"
    reply = _admin_call(
        relay_url, root_token, data_dir, "POST", path, body, command="relay mcp-config"
    )
    server = {
        "type": "http",
        "url": f"{relay_url.rstrip('/')}/mcp",
        "headers": {"Authorization": f"Bearer {reply['token']}"},
    }
    typer.echo(json.dumps({"mcpServers": {name: server}}, indent=2))


def main() -> None:
    cli()
