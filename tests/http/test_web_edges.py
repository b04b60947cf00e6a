"""What a browser is served at the edges of the dashboard and the API: the page's policy
wherever the page is served, and no redirect to a host the request names."""

from __future__ import annotations

from typing import Any

from relay.http.cors import origin_of
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_mcp import MCP_HEADERS, mcp_token, register

FOREIGN = "http://evil.example"


async def test_the_dashboard_page_keeps_its_policy_at_its_static_url(client: Any) -> None:
    """``/static/index.html`` is the same page as ``/``: served with the same policy (no
    framing, only its own scripts), never without one."""
    page = await client.get("/")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "base-uri 'none'" in csp
    alias = await client.get("/static/index.html")
    assert alias.status_code == 200
    assert alias.headers["Content-Security-Policy"] == csp
    for path in ("/", "/static/index.html", "/static/app.js"):
        response = await client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path


async def test_a_doubled_slash_is_not_redirected_to_the_host_header(client: Any) -> None:
    """A path with ``//`` was answered, before authentication, with an HTML 308 to the
    same path on whatever host the request's ``Host`` named: a redirect a shared cache
    would keep. It is a path that names no route: a JSON 404."""
    for path in ("/api//agents", "/api/agents//a1", "/api/agents/a1//timeline"):
        response = await client.get(path, headers={**H, "Host": "evil.example"})
        assert response.status_code == 404, path
        assert "Location" not in response.headers, path
        assert await response.get_json() == {"error": "not found"}, path


async def test_mcp_takes_a_browser_request_only_from_the_relays_own_origin(
    client: Any, services: Services
) -> None:
    """MCP's transport asks a server to validate ``Origin`` (DNS rebinding): a page on
    another site is refused before any tool runs; MCP clients send none; the relay's own
    origin (a member's advertised URL) is taken."""
    await register(client, "a1")
    await register(client, "a2")
    token = bearer(await mcp_token(client, "a1"))
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "send_message", "arguments": {"to": "a2", "body": "hi"}},
    }
    headers = {**MCP_HEADERS, **token}
    foreign = await client.post("/mcp", json=call, headers={**headers, "Origin": FOREIGN})
    assert (foreign.status_code, await foreign.get_json()) == (
        403,
        {"error": "origin not allowed"},
    )
    inbox = await client.get("/api/agents/a2/inbox?peek=true", headers=H)
    assert (await inbox.get_json())["items"] == []
    own = origin_of(services.leadership.self_url)
    for extra in ({"Origin": own}, {}):
        response = await client.post("/mcp", json=call, headers={**headers, **extra})
        assert response.status_code == 200, await response.get_data()
        assert (await response.get_json())["result"]["isError"] is False
