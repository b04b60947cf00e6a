"""``relay mcp-config``: the .mcp.json block for an agent."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from relay.cli.app import (
    DEFAULT_URL,
    DataDirOption,
    RelayUrlOption,
    RootTokenOption,
    admin_call,
    cli,
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
    reply = admin_call(
        relay_url, root_token, data_dir, "POST", path, body, command="relay mcp-config"
    )
    server = {
        "type": "http",
        "url": f"{relay_url.rstrip('/')}/mcp",
        "headers": {"Authorization": f"Bearer {reply['token']}"},
    }
    typer.echo(json.dumps({"mcpServers": {name: server}}, indent=2))
