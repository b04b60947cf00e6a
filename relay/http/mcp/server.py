"""The MCP server: the SDK's low-level ``Server`` over the tool table, served stateless.

Stateless with JSON replies: every ``POST /mcp`` is a whole exchange, so no session is
issued or looked up (a relay restart loses nothing a client holds), and ``tools/call``
needs no ``initialize`` first. The low-level server rather than ``MCPServer``: a tool's
schema is its HTTP body model and its result the route's JSON, neither inferred from a
Python signature.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import mcp_types as types
import pykka
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from quart import g

from relay import __version__
from relay.errors import Forbidden, RelayError
from relay.http.mcp.tools import JSON, Tool, by_name
from relay.http.nul_guard import refuse_nul_in_body
from relay.http.validation import validate

SERVER_NAME = "relay"
ACTOR_UNAVAILABLE = "actor unavailable"  # the HTTP route's 503 for a dead actor

log = logging.getLogger("relay.mcp")


def _text(value: str) -> list[types.ContentBlock]:
    return [types.TextContent(type="text", text=value)]


def succeeded(result: JSON) -> types.CallToolResult:
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return types.CallToolResult(content=_text(text), structured_content=result)


def failed(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=_text(message), is_error=True)


async def call(tool: Tool, arguments: dict[str, Any]) -> types.CallToolResult:
    """Run ``tool`` for the caller ``POST /mcp`` authenticated (``g.principal``, ``g.agent``).

    The SDK runs this in a task of its own task group, which trio starts with a copy of the
    starting task's context: the request's, so ``g`` and ``services()`` are the request's.
    """
    try:
        if not g.principal.has_scope(tool.scope):
            raise Forbidden("forbidden")
        g.scope = tool.scope  # what relay.http.auth.allow checks, as on the HTTP route
        # U+0000 is refused as the route refuses it in a body (PostgreSQL cannot keep it).
        refuse_nul_in_body(json.dumps(arguments), arguments)
        return succeeded(await tool.run(g.agent, validate(tool.arguments, arguments)))
    except RelayError as exc:
        return failed(exc.message)
    except pykka.ActorDeadError:
        return failed(ACTOR_UNAVAILABLE)
    except Exception:
        # What the route would answer 500 with: the client hears no more than it would
        # there (the SDK would pass on the exception's own text).
        log.exception("mcp_tool_failed tool=%s", tool.name)
        return failed("internal error")


def build_server(tools: list[Tool]) -> Server[Any]:
    table = by_name(tools)

    async def list_tools(
        _ctx: ServerRequestContext[Any], _params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(name=t.name, description=t.description, input_schema=t.input_schema())
                for t in table.values()
            ]
        )

    async def call_tool(
        _ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = table.get(params.name)
        if tool is None:
            raise MCPError(types.INVALID_PARAMS, f"unknown tool: {params.name}")
        return await call(tool, params.arguments or {})

    return Server(
        SERVER_NAME,
        version=__version__,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def session_manager(tools: list[Tool]) -> StreamableHTTPSessionManager:
    """One per app (the SDK's rule): its ``run()`` spans the app's serving."""
    return StreamableHTTPSessionManager(
        build_server(tools),
        json_response=True,
        stateless=True,
        # The Host check guards a localhost server from DNS rebinding by browsers; every
        # /mcp call carries a bearer token instead, and the relay serves whatever host
        # name its operators reach it by.
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
