"""``POST /mcp``: authenticate the agent, then hand the exchange to the MCP SDK.

The route is Quart's, so ``/mcp`` shares the relay's authentication, errors, body limit
and access log, and answers ``GET``/``DELETE`` itself (405, ``Allow: POST``: the SDK's
stateless ``GET`` would hang). The authenticated request is then replayed into the SDK's
ASGI handler; with JSON replies its answer is one body, returned as the response.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, MutableMapping
from typing import Any, Literal

import trio
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp_types import INVALID_REQUEST
from pydantic import BaseModel, ConfigDict
from quart import Blueprint, Quart, Response, current_app, g, request

from relay.auth.access import own_agent
from relay.errors import Forbidden
from relay.http.auth import AUTHENTICATED, agent_orchestrators, principal, requires
from relay.http.contract import Media, responds
from relay.http.cors import member_origins, origin_of
from relay.http.mcp.registry import TOOLS
from relay.http.mcp.server import session_manager
from relay.http.services import services

bp = Blueprint("mcp", __name__)

EXTENSION = "relay.mcp"


class JsonRpcMessage(BaseModel):
    """A JSON-RPC 2.0 message: MCP's result or error (its schema is MCP's, not repeated here)."""

    model_config = ConfigDict(extra="allow")
    jsonrpc: Literal["2.0"]


NOT_BOUND = "an MCP token must be bound to exactly one agent"
# The SDK's answer headers a client of this endpoint may need; hop-by-hop ones are Quart's.
_PASSED_HEADERS = {"content-type", "mcp-protocol-version"}


def install(app: Quart) -> None:
    manager = session_manager(TOOLS)
    app.extensions[EXTENSION] = manager
    app.register_blueprint(bp)

    @app.while_serving
    async def serve_mcp() -> AsyncGenerator[None, None]:
        async with manager.run():
            yield


def _check_origin() -> None:
    """MCP's transport asks a server to validate ``Origin`` (DNS rebinding): a browser
    page on another site must not drive a session. Claude Code and other MCP clients send
    none; a browser's request is taken only from an origin of this relay's cluster (the
    members' advertised URLs, as the dashboard's CORS and CSP name them, and this relay's
    own), never from the origin the request's Host names (DNS rebinding makes those
    agree). 403 otherwise."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    leadership = services().leadership
    if origin not in {*member_origins(leadership), origin_of(leadership.self_url)}:
        raise Forbidden("origin not allowed")


async def bound_agent() -> str:
    """The one existing agent the caller's token is bound to: the caller of every tool."""
    agent_id = own_agent(principal())
    if agent_id is None or agent_id not in await agent_orchestrators([agent_id]):
        raise Forbidden(NOT_BOUND)
    return agent_id


@bp.post("/mcp", provide_automatic_options=False)
@responds(
    {
        200: JsonRpcMessage,
        202: Media("application/json", "a notification accepted: no body"),
        # The SDK's refusals carry a JSON-RPC error object, not relay's {"error": string}.
        400: JsonRpcMessage,  # not JSON-RPC, or a request the protocol rejects
        406: JsonRpcMessage,  # Accept lacks application/json and text/event-stream
        415: JsonRpcMessage,  # Content-Type is not application/json
    },
    errors=(413,),
)
@requires(AUTHENTICATED)
async def mcp_endpoint() -> Response:
    _check_origin()
    g.agent = await bound_agent()
    body = await request.get_data(cache=False, as_text=False, parse_form_data=False)
    status, headers, chunks = await _exchange(current_app.extensions[EXTENSION], body)
    answer = b"".join(chunks)
    if status >= 400:
        answer = json_rpc_error(answer)
    headers["content-type"] = "application/json"
    return Response(answer, status=status, headers=headers)


def json_rpc_error(answer: bytes) -> bytes:
    """The SDK's refusal as JSON-RPC: a few (a wrong Content-Type) it words as plain text."""
    try:
        json.loads(answer)
    except ValueError:
        message = answer.decode("utf-8", "replace") or "invalid request"
        error = {"code": INVALID_REQUEST, "message": message}
        return json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()
    return answer


async def _exchange(
    manager: StreamableHTTPSessionManager, body: bytes
) -> tuple[int, dict[str, str], list[bytes]]:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": request.http_version,
        "method": "POST",
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": request.query_string,
        "root_path": "",
        "headers": [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in request.headers.items()
        ],
        "client": None,
        "server": None,
    }
    sent = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await trio.sleep_forever()  # the whole body is read; the client stays connected
        raise AssertionError("unreachable")

    status = 500
    headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for raw_name, raw_value in message.get("headers", []):
                name = raw_name.decode("latin-1").lower()
                if name in _PASSED_HEADERS:
                    headers[name] = raw_value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await manager.handle_request(scope, receive, send)
    return status, headers, chunks
