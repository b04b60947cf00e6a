"""``/openapi.json`` is a contract a machine can check, and ``/docs`` renders it offline.

These pin the document's structure; tests/http/test_contract_fuzz.py checks that the
running relay keeps it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from relay.http.docs import assets_dir
from tests.conftest import root_headers

PUBLIC_OPERATIONS = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/cluster"),
    ("options", "/api/cluster"),  # the CORS preflight of another member's dashboard
    ("get", "/"),
    ("get", "/static/{filename}"),
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
async def spec(client: Any) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = await response.get_json()
    return document


# POST /mcp speaks JSON-RPC: the MCP SDK's own refusals are JSON-RPC error objects, which
# MCP clients read (the relay's own 401/403/413/429/503 keep the error shape).
JSON_RPC_ERRORS = {("post", "/mcp", status) for status in ("400", "406", "415")}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


async def test_every_operation_documents_a_success_and_its_errors(spec: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations(spec):
        statuses = set(operation["responses"])
        if not any(status.startswith("2") for status in statuses):
            missing.append(f"{method} {path}: no success")
        for status in statuses - {"200", "201", "202", "204"}:
            if (method, path, status) in JSON_RPC_ERRORS:
                continue
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            if schema != ERROR_REF:
                missing.append(f"{method} {path}: {status} is not the error shape")
    assert missing == []
    assert spec["components"]["schemas"]["Error"]["required"] == ["error"]


async def test_authenticated_operations_document_401_403_429_and_503(
    spec: dict[str, Any],
) -> None:
    for method, path, operation in operations(spec):
        if (method, path) in PUBLIC_OPERATIONS:
            continue
        assert "security" not in operation, (method, path)  # the document's bearer applies
        assert {"401", "403", "429", "503"} <= set(operation["responses"]), (method, path)
        for status in ("429", "503"):
            assert "Retry-After" in operation["responses"][status]["headers"]
    assert spec["security"] == [{"bearer": []}]


async def test_public_operations_need_no_security(spec: dict[str, Any]) -> None:
    public = {(m, p) for m, p, op in operations(spec) if op.get("security") == []}
    assert public == PUBLIC_OPERATIONS


async def test_bodies_are_required_and_read_bodies_document_400_and_413(
    spec: dict[str, Any],
) -> None:
    with_body = [(m, p, op) for m, p, op in operations(spec) if "requestBody" in op]
    assert len(with_body) == 40
    optional_bodies = {
        ("post", "/api/orchestrators/{orchestrator_id}/heartbeat"),
        ("post", "/api/agents/{agent_id}/mcp-token"),
        ("post", "/api/tasks/claim"),
        ("post", "/api/tasks/{task_id}/claim"),
        ("post", "/api/tasks/{task_id}/heartbeat"),
        ("post", "/api/tasks/{task_id}/cancel"),
        ("post", "/api/automations/{automation_id}/run"),
    }
    for method, path, operation in with_body:
        optional = (method, path) in optional_bodies
        assert operation["requestBody"]["required"] is not optional, (method, path)
        assert {"400", "413"} <= set(operation["responses"]), (method, path)


async def test_path_ids_document_404(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        if "{" in path:
            assert "404" in operation["responses"], (method, path)


async def test_steward_config_put_has_a_body_schema(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/api/steward-config"]["put"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"]["type"] == "object"


@pytest.mark.parametrize(
    ("method", "path", "name", "schema"),
    [
        ("get", "/api/agents/{agent_id}/timeline", "limit", {"minimum": 1, "maximum": 500}),
        ("get", "/api/activity", "limit", {"minimum": 1, "maximum": 1000}),
        ("get", "/api/activity", "agentId", {"type": "string"}),
        ("get", "/api/commands", "status", {"enum": ["queued", "delivered", "running"]}),
        ("get", "/api/orchestrators/{orchestrator_id}/commands", "wait", {"maximum": 60}),
        ("get", "/api/tokens", "limit", {"type": "integer", "maximum": 5000}),
        ("delete", "/api/merge-leases", "repoRoot", {"maxLength": 4096}),
        ("delete", "/api/config/{namespace}/{key}", "expectedVersion", {"minimum": 0}),
        ("get", "/api/channels/{channel_id}/route", "from", {"maxLength": 200}),
    ],
)
async def test_query_parameters_are_documented_with_type_and_bounds(
    spec: dict[str, Any], method: str, path: str, name: str, schema: dict[str, Any]
) -> None:
    parameters = {
        p["name"]: p["schema"]
        for p in spec["paths"][path][method]["parameters"]
        if p["in"] == "query"
    }
    documented = parameters[name]
    for key, value in schema.items():
        if key == "enum":
            assert set(value) <= set(documented["enum"])
        else:
            assert documented[key] == value


async def test_success_shapes_name_their_fields(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    card = schemas["AgentCard"]
    assert {"id", "status", "ready", "registeredAt", "lastSeenAt"} <= set(card["required"])
    assert card["properties"]["ready"]["type"] == "boolean"
    assert card["properties"]["status"]["enum"] == ["online", "stale", "offline"]
    listed = spec["paths"]["/api/agents"]["get"]["responses"]["200"]["content"]
    assert listed["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/AgentCard"},
    }


# -- /docs: Swagger UI from our own files ------------------------------------------------------


async def test_docs_page_loads_only_local_assets(client: Any) -> None:
    """Over the test client; the large files are fetched over real HTTP in
    tests/http/test_contract_fuzz.py (the test client stalls on big file bodies)."""
    page = await client.get("/docs")
    assert page.status_code == 200
    html = await page.get_data(as_text=True)
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(urls) == [
        "/docs/assets/favicon-32x32.png",
        "/docs/assets/init.js",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    script = await (await client.get("/docs/assets/init.js")).get_data(as_text=True)
    assert 'url: "/openapi.json"' in script
    assert "http" not in script
    icon = await client.get("/docs/assets/favicon-32x32.png")
    assert icon.status_code == 200
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert (assets_dir() / name).stat().st_size > 100_000


async def test_docs_assets_serve_only_their_files(client: Any) -> None:
    for name in ("index.html", "..%2Fcore.py", "swagger-editor-bundle.js", "LICENSE"):
        response = await client.get(f"/docs/assets/{name}", headers=root_headers())
        assert response.status_code == 404, name
        assert await response.get_json() == {"error": "not found"}


async def test_path_ids_are_bounded_by_their_columns(spec: dict[str, Any]) -> None:
    def path_schema(path: str, method: str, name: str) -> dict[str, Any]:
        (found,) = [p for p in spec["paths"][path][method]["parameters"] if p["name"] == name]
        schema: dict[str, Any] = found["schema"]
        return schema

    assert path_schema("/api/agents/{agent_id}", "get", "agent_id") == {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
    }
    assert path_schema("/api/commands/{command_id}", "get", "command_id")["maxLength"] == 64
    assert (
        path_schema("/api/workspaces/{workspace_id}", "delete", "workspace_id")["maxLength"] == 64
    )


async def test_a_converter_bound_is_documented(open_app: Any) -> None:
    def add_bounded_route(app: Any) -> None:
        async def bounded(thing_id: str) -> dict[str, Any]:
            return {"id": thing_id}

        app.add_url_rule("/api/test-bounded/<string(maxlength=12):thing_id>", "bounded", bounded)

    async with open_app(setup=add_bounded_route) as app:
        document = await (await app.test_client().get("/openapi.json")).get_json()
    (parameter,) = document["paths"]["/api/test-bounded/{thing_id}"]["get"]["parameters"]
    assert parameter["schema"] == {"type": "string", "minLength": 1, "maxLength": 12}
