"""What a browser is served at the edges of the dashboard and the API: the page's policy
wherever the page is served, and no redirect to a host the request names."""

from __future__ import annotations

from typing import Any

from tests.http.helpers import H


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
