"""Every route declares its scope: ``@requires(scope)``, ``@authenticated`` or ``@public``.

Enumerates the app's URL map, so a route added without a declaration fails here
instead of shipping unauthenticated.
"""

from __future__ import annotations

from typing import Any

import pytest
from quart_trio import QuartTrio

from relay.domain.tokens import SCOPES
from relay.http.auth import PUBLIC, SCOPE_ATTRIBUTE
from relay.http.tokens import AUTHENTICATED

# Served by Quart and quart-schema themselves, public by design (spec: "Cross-cutting").
UNDECORATED_ENDPOINTS = {
    "static",  # the app's static files (if it ever has a static folder)
    "dashboard.static",  # the dashboard's static files, /static/...
    "openapi",  # /openapi.json
    "docs.asset",  # Swagger UI's files for /docs, /docs/assets/...
}
# The only paths a caller may reach without a token (besides the endpoints above).
PUBLIC_PATHS = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/cluster",  # which relay is active: a client being redirected has no token yet
    "/",  # the dashboard's page: it asks the user for a token and sends it on every call
    "/docs",  # Swagger UI over /openapi.json: it asks for a token to try calls with
}


def declared(app: QuartTrio) -> list[tuple[str, str, Any]]:
    return [
        (
            rule.endpoint,
            rule.rule,
            getattr(app.view_functions[rule.endpoint], SCOPE_ATTRIBUTE, None),
        )
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNDECORATED_ENDPOINTS
    ]


async def test_undecorated_endpoints_serve_only_static_files_and_api_docs(
    quart_app: QuartTrio,
) -> None:
    paths = {
        rule.rule
        for rule in quart_app.url_map.iter_rules()
        if rule.endpoint in UNDECORATED_ENDPOINTS
    }
    assert paths <= {"/static/<path:filename>", "/openapi.json", "/docs/assets/<filename>"}


async def test_every_route_declares_a_known_scope(quart_app: QuartTrio) -> None:
    missing = [f"{endpoint} {path}" for endpoint, path, scope in declared(quart_app) if not scope]
    assert missing == [], "routes without @requires/@public"
    allowed = {*SCOPES, PUBLIC, AUTHENTICATED}
    # ``@requires("a", "b")`` (either scope will do) declares "a | b".
    unknown = [
        f"{endpoint} {path}: {scope}"
        for endpoint, path, scope in declared(quart_app)
        if not set(scope.split(" | ")) <= allowed
    ]
    assert unknown == []


async def test_only_health_and_metrics_are_public(quart_app: QuartTrio) -> None:
    public = {path for _, path, scope in declared(quart_app) if scope == PUBLIC}
    assert public <= PUBLIC_PATHS


async def test_the_token_routes_declare_theirs(quart_app: QuartTrio) -> None:
    scopes = {endpoint: scope for endpoint, _, scope in declared(quart_app)}
    assert scopes["tokens.create_token"] == "token:admin"
    assert scopes["tokens.list_tokens"] == "token:admin"
    assert scopes["tokens.revoke_token"] == "token:admin"
    assert scopes["tokens.renew_token"] == AUTHENTICATED
    assert scopes["tokens.remint_runner"] == "command:write"


def http_routes(app: QuartTrio) -> list[tuple[str, str]]:
    """(method, concrete path) for every non-public HTTP route, placeholders filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.websocket or getattr(view, SCOPE_ATTRIBUTE, None) in (None, PUBLIC):
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<{argument}>", "x").replace(f"<path:{argument}>", "x")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


async def test_every_declared_route_refuses_anonymous_callers(
    quart_app: QuartTrio, client: Any
) -> None:
    routes = http_routes(quart_app)
    assert ("POST", "/api/tokens") in routes
    let_through = []
    for method, path in routes:
        response = await client.open(path, method=method, json={})
        if response.status_code != 401:
            let_through.append(f"{method} {path}: {response.status_code}")
    assert let_through == []


@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
async def test_public_routes_need_no_token(client: Any, path: str) -> None:
    assert (await client.get(path)).status_code == 200
