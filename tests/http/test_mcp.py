"""``POST /mcp`` over the app: authentication before MCP, 405s, tool results and errors,
and ``POST /api/agents/:id/mcp-token``."""

from __future__ import annotations

import json
from typing import Any

from relay.auth.profiles import MCP
from tests.conftest import bearer, root_headers

MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
NOT_BOUND = "an MCP token must be bound to exactly one agent"


async def register(client: Any, agent_id: str, **fields: Any) -> None:
    response = await client.post(
        "/api/agents", json={"id": agent_id, **fields}, headers=root_headers()
    )
    assert response.status_code in (200, 201), await response.get_json()


async def mcp_token(client: Any, agent_id: str, **body: Any) -> str:
    response = await client.post(
        f"/api/agents/{agent_id}/mcp-token", json=body, headers=root_headers()
    )
    assert response.status_code == 201, await response.get_json()
    token: str = (await response.get_json())["token"]
    return token


async def rpc(
    client: Any, token: str, method: str, params: dict[str, Any] | None = None, **headers: str
) -> Any:
    message = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    return await client.post(
        "/mcp", json=message, headers={**MCP_HEADERS, **bearer(token), **headers}
    )


async def call_tool(client: Any, token: str, name: str, **arguments: Any) -> Any:
    response = await rpc(client, token, "tools/call", {"name": name, "arguments": arguments})
    assert response.status_code == 200
    return await response.get_json()


async def test_without_a_token_is_401(client: Any) -> None:
    response = await client.post("/mcp", json={}, headers=MCP_HEADERS)
    assert response.status_code == 401


async def test_a_token_bound_to_no_agent_is_403(client: Any, mint: Any) -> None:
    response = await rpc(client, mint(list(MCP.scope)), "tools/list")
    assert response.status_code == 403
    assert await response.get_json() == {"error": NOT_BOUND}


async def test_a_token_bound_to_two_agents_is_403(client: Any, mint: Any) -> None:
    await register(client, "a1")
    await register(client, "a2")
    token = mint(list(MCP.scope), {"agents": ["a1", "a2"]})
    response = await rpc(client, token, "tools/list")
    assert response.status_code == 403
    assert await response.get_json() == {"error": NOT_BOUND}


async def test_a_token_bound_to_an_unknown_agent_is_403(client: Any, mint: Any) -> None:
    response = await rpc(client, mint(list(MCP.scope), {"agents": ["ghost"]}), "tools/list")
    assert response.status_code == 403
    assert await response.get_json() == {"error": NOT_BOUND}


async def test_root_is_not_an_agent(client: Any) -> None:
    response = await client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={**MCP_HEADERS, **root_headers()},
    )
    assert response.status_code == 403


async def test_get_and_delete_are_405_allow_post(client: Any) -> None:
    for method in ("GET", "DELETE"):
        response = await client.open("/mcp", method=method, headers=root_headers())
        assert response.status_code == 405
        assert response.headers["Allow"] == "POST"


async def test_tools_call_needs_no_initialize_and_issues_no_session(client: Any) -> None:
    await register(client, "a1", tags=["x"], meta={"label": "L", "capabilities": ["py"]})
    await register(client, "a2")
    token = await mcp_token(client, "a1")
    response = await rpc(
        client,
        token,
        "tools/call",
        {"name": "list_agents", "arguments": {}},
        **{"Mcp-Session-Id": "not-a-session"},
    )
    assert response.status_code == 200
    assert "Mcp-Session-Id" not in response.headers
    result = (await response.get_json())["result"]
    agents = result["structuredContent"]["agents"]
    # Every agent, despite the token's agents constraint.
    assert [a["id"] for a in agents] == ["a1", "a2"]
    assert agents[0] == {
        "id": "a1",
        "name": agents[0]["name"],
        "status": agents[0]["status"],
        "ready": agents[0]["ready"],
        "tags": ["x"],
        "label": "L",
        "capabilities": ["py"],
    }
    assert result.get("isError", False) is False
    assert [c["type"] for c in result["content"]] == ["text"]
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]


async def test_initialize_names_the_server_relay(client: Any) -> None:
    await register(client, "a1")
    token = await mcp_token(client, "a1")
    response = await rpc(
        client,
        token,
        "initialize",
        {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    )
    assert response.status_code == 200
    assert "Mcp-Session-Id" not in response.headers
    assert (await response.get_json())["result"]["serverInfo"]["name"] == "relay"


async def test_tools_list_gives_http_field_names(client: Any) -> None:
    await register(client, "a1")
    response = await rpc(client, await mcp_token(client, "a1"), "tools/list")
    tools = {t["name"]: t for t in (await response.get_json())["result"]["tools"]}
    assert set(tools["list_agents"]["inputSchema"]["properties"]) == {"status", "tag"}


async def test_list_agents_filters_by_tag_and_status(client: Any) -> None:
    await register(client, "a1", tags=["x"])
    await register(client, "a2")
    token = await mcp_token(client, "a1")
    body = await call_tool(client, token, "list_agents", tag="x")
    assert [a["id"] for a in body["result"]["structuredContent"]["agents"]] == ["a1"]
    body = await call_tool(client, token, "list_agents", status="offline")
    assert body["result"]["structuredContent"]["agents"] == []


async def test_bad_arguments_are_an_error_result_with_the_http_message(client: Any) -> None:
    await register(client, "a1")
    body = await call_tool(client, await mcp_token(client, "a1"), "list_agents", status="gone")
    result = body["result"]
    assert result["isError"] is True
    assert result["content"] == [
        {"type": "text", "text": "status must be one of online, stale, offline"}
    ]


async def test_a_tool_outside_the_tokens_scopes_is_forbidden(client: Any, mint: Any) -> None:
    await register(client, "a1")
    token = mint(["message:read"], {"agents": ["a1"]})
    result = (await call_tool(client, token, "list_agents"))["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"] == "forbidden"


async def test_an_unknown_tool_is_invalid_params(client: Any) -> None:
    await register(client, "a1")
    body = await call_tool(client, await mcp_token(client, "a1"), "no_such_tool")
    assert body["error"]["code"] == -32602


async def test_mcp_token_record(client: Any, services: Any) -> None:
    await register(client, "a1")
    response = await client.post("/api/agents/a1/mcp-token", headers=root_headers())
    assert response.status_code == 201
    record = (await response.get_json())["record"]
    assert record["sub"] == "mcp:a1"
    assert record["profileId"] == "mcp"
    assert record["role"] == "mcp"
    assert record["constraints"] == {"agents": ["a1"]}
    ttl = services.runtime.settings.mcp_token_ttl_seconds
    assert ttl == 30 * 86_400
    assert record["expiresAt"] - record["createdAt"] == ttl * 1000
    audit = await client.get("/api/activity?view=security", headers=root_headers())
    titles = [row["title"] for row in await audit.get_json()]
    assert "MCP token issued" in titles


async def test_an_mcp_token_carries_no_scope_its_minter_lacks(client: Any, mint: Any) -> None:
    """A token grants no scope it lacks: an orchestrator holding only some of the ``mcp``
    profile's scopes mints a session's token with those, one holding none mints none, and
    nothing is recorded for the refusal. Root mints the whole profile."""
    await register(client, "a1", orchestratorId="o1")
    held = ["agent:read", "message:read", "message:write"]
    narrow = mint(held, {"orchestrators": ["o1"]}, role="orchestrator", sub="orchestrator:o1")
    response = await client.post("/api/agents/a1/mcp-token", headers=bearer(narrow))
    assert response.status_code == 201, await response.get_data()
    issued = await response.get_json()
    assert issued["record"]["scope"] == held
    memory = await rpc(
        client, issued["token"], "tools/call", {"name": "memory_search", "arguments": {}}
    )
    assert (await memory.get_json())["result"]["isError"] is True
    none = mint(["command:read"], {"orchestrators": ["o1"]}, role="orchestrator", sub="o1-x")
    before = await client.get("/api/tokens", headers=root_headers())
    refused = await client.post("/api/agents/a1/mcp-token", headers=bearer(none))
    assert refused.status_code == 403
    assert await refused.get_json() == {
        "error": "cannot grant an MCP token: the caller holds none of its scopes"
    }
    after = await client.get("/api/tokens", headers=root_headers())
    assert await after.get_json() == await before.get_json()
    whole = await client.post("/api/agents/a1/mcp-token", headers=root_headers())
    assert (await whole.get_json())["record"]["scope"] == list(MCP.scope)


async def test_mcp_token_ttl(client: Any) -> None:
    await register(client, "a1")
    response = await client.post(
        "/api/agents/a1/mcp-token", json={"ttlSeconds": 600}, headers=root_headers()
    )
    record = (await response.get_json())["record"]
    assert record["expiresAt"] - record["createdAt"] == 600_000
    response = await client.post(
        "/api/agents/a1/mcp-token", json={"ttlSeconds": 1}, headers=root_headers()
    )
    assert response.status_code == 400
    assert (await response.get_json())["error"] == "ttlSeconds must be at least 60"


async def test_mcp_token_for_an_unknown_agent_is_404(client: Any) -> None:
    response = await client.post("/api/agents/ghost/mcp-token", headers=root_headers())
    assert response.status_code == 404
    assert await response.get_json() == {"error": "agent not found"}


async def test_mcp_token_needs_admin_or_the_agents_orchestrator(client: Any, mint: Any) -> None:
    await register(client, "a1", orchestratorId="o1")
    await register(client, "a2", orchestratorId="o2")
    orchestrator = mint(
        ["agent:read"], {"orchestrators": ["o1"]}, role="orchestrator", sub="orchestrator:o1"
    )
    ok = await client.post("/api/agents/a1/mcp-token", headers=bearer(orchestrator))
    assert ok.status_code == 201
    other = await client.post("/api/agents/a2/mcp-token", headers=bearer(orchestrator))
    assert other.status_code == 403
    unknown = await client.post("/api/agents/ghost/mcp-token", headers=bearer(orchestrator))
    assert unknown.status_code == 403  # it would not act for a2 either: nothing learned
    dashboard = mint(["agent:read", "agent:write"], role="dashboard")
    refused = await client.post("/api/agents/a1/mcp-token", headers=bearer(dashboard))
    assert refused.status_code == 403
    assert (await client.post("/api/agents/a1/mcp-token")).status_code == 401


async def test_an_mcp_token_keeps_its_minters_paths(client: Any, mint: Any) -> None:
    """An orchestrator limited to /srv/o1 mints a session's token limited there too: the
    session reads no repository memory its orchestrator could not."""
    await register(client, "a1", orchestratorId="o1", meta={"cwd": "/srv/o1/repo"})
    orchestrator = mint(
        ["agent:read"],
        {"orchestrators": ["o1"], "cwd": ["/srv/o1"]},
        role="orchestrator",
        sub="orchestrator:o1",
    )
    response = await client.post("/api/agents/a1/mcp-token", headers=bearer(orchestrator))
    assert response.status_code == 201
    record = (await response.get_json())["record"]
    assert record["constraints"] == {"agents": ["a1"], "cwd": ["/srv/o1"], "orchestrators": ["o1"]}
    # An admin limited to the agent and a path mints within both.
    admin = bearer(mint(["token:admin", *MCP.scope], {"agents": ["a1"], "cwd": ["/srv/o1/repo"]}))
    response = await client.post("/api/agents/a1/mcp-token", headers=admin)
    assert response.status_code == 201
    record = (await response.get_json())["record"]
    assert record["constraints"] == {"agents": ["a1"], "cwd": ["/srv/o1/repo"]}


async def test_an_mcp_token_does_not_follow_its_agent_to_another_host(
    client: Any, mint: Any
) -> None:
    """The token o1 minted for its session acts for it only while it is o1's: moved to o2
    (as a re-registration there does), its inbox is refused to that token, as to o1's."""
    await register(client, "a1", orchestratorId="o1")
    o1 = mint(
        list(MCP.scope), {"orchestrators": ["o1"]}, role="orchestrator", sub="orchestrator:o1"
    )
    minted = await client.post("/api/agents/a1/mcp-token", headers=bearer(o1))
    assert minted.status_code == 201, await minted.get_data()
    session = bearer((await minted.get_json())["token"])
    assert (await client.get("/api/agents/a1/inbox", headers=session)).status_code == 200
    await register(client, "a1", orchestratorId="o2")
    assert (await client.get("/api/agents/a1/inbox", headers=session)).status_code == 403
    assert (await client.get("/api/agents/a1/inbox", headers=bearer(o1))).status_code == 403


async def test_a_constrained_token_admin_mints_only_within_its_constraints(
    client: Any, mint: Any
) -> None:
    # token:admin limited to orchestrator o1 hands out no more than it holds: an MCP token
    # for o2's agent would act for a2 (read its inbox, send as it) beyond o1.
    await register(client, "a1", orchestratorId="o1")
    await register(client, "a2", orchestratorId="o2")
    admin = bearer(mint(["token:admin", *MCP.scope], {"orchestrators": ["o1"]}, sub="ops-o1"))
    response = await client.post("/api/agents/a2/mcp-token", headers=admin)
    assert response.status_code == 403, await response.get_json()
    # Limited to agents it may grant, it mints for those.
    agents_admin = bearer(mint(["token:admin", *MCP.scope], {"agents": ["a1"]}, sub="ops-a1"))
    response = await client.post("/api/agents/a1/mcp-token", headers=agents_admin)
    assert response.status_code == 201
    response = await client.post("/api/agents/a2/mcp-token", headers=agents_admin)
    assert response.status_code == 403


async def test_a_2026_client_calls_tools_without_initialize(client: Any) -> None:
    """The 2026-07-28 protocol carries its envelope in every request's ``_meta``."""
    await register(client, "a1")
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    response = await rpc(
        client,
        await mcp_token(client, "a1"),
        "tools/call",
        {"name": "list_agents", "arguments": {"status": "gone"}, "_meta": meta},
        **{
            "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": "tools/call",
            "Mcp-Name": "list_agents",
        },
    )
    assert response.status_code == 200
    result = (await response.get_json())["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"] == "status must be one of online, stale, offline"


async def test_the_sdks_refusals_are_json_rpc_errors(client: Any) -> None:
    await register(client, "a1")
    headers = {**MCP_HEADERS, **bearer(await mcp_token(client, "a1"))}
    not_json_rpc = await client.post("/mcp", json={"hello": 1}, headers=headers)
    assert not_json_rpc.status_code == 400
    assert (await not_json_rpc.get_json())["jsonrpc"] == "2.0"
    no_accept = await client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={**headers, "Accept": "text/html"},
    )
    assert no_accept.status_code == 406


async def test_an_empty_post_is_a_json_answer(client: Any) -> None:
    await register(client, "a1")
    response = await client.post("/mcp", headers=bearer(await mcp_token(client, "a1")))
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert (await response.get_json())["error"]["message"] == "Invalid Content-Type header"
