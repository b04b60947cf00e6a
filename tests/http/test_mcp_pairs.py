"""The ``pair_action`` MCP tool: ``POST /api/pairs/:id/actions`` as the token's agent, with
the route's answers and exactly its refusals."""

from __future__ import annotations

from typing import Any

from tests.http.helpers import H
from tests.http.test_mcp import mcp_token, register, rpc
from tests.http.test_mcp_messages import ok, refused


async def setup(client: Any) -> tuple[str, str, str]:
    """A forming pair of d1 (driver) and n1 (navigator) made by d1; both MCP tokens."""
    await register(client, "d1")
    await register(client, "n1")
    await register(client, "x1")
    d, n = await mcp_token(client, "d1"), await mcp_token(client, "n1")
    response = await client.post("/api/pairs", json={"driver": "d1", "navigator": "n1"}, headers=H)
    pair = await response.get_json()
    return pair["id"], d, n


async def test_pair_action_is_listed_with_the_route_fields(client: Any) -> None:
    _pair_id, d, _n = await setup(client)
    response = await rpc(client, d, "tools/list")
    tools = {t["name"]: t for t in (await response.get_json())["result"]["tools"]}
    schema = tools["pair_action"]["inputSchema"]
    assert set(schema["properties"]) == {"pairId", "action", "message", "version"}
    assert set(schema["required"]) == {"pairId", "action"}


async def test_the_review_cycle_through_the_tool(client: Any) -> None:
    pair_id, d, n = await setup(client)
    reviewed = await ok(client, d, "pair_action", pairId=pair_id, action="request-review")
    assert reviewed["status"] == "awaiting_review"
    http = await (await client.get(f"/api/pairs/{pair_id}", headers=H)).get_json()
    assert reviewed == http
    assert await refused(client, d, "pair_action", pairId=pair_id, action="approve") == (
        "only the navigator may approve"
    )
    sent = await ok(client, n, "pair_action", pairId=pair_id, action="message", message="ok!")
    assert sent["status"] == "awaiting_review"
    items = (await (await client.get("/api/agents/d1/inbox?peek=true", headers=H)).get_json())[
        "items"
    ]
    assert items[-1]["message"]["body"] == "ok!"
    assert items[-1]["message"]["from"] == "n1"
    done = await ok(client, n, "pair_action", pairId=pair_id, action="approve")
    assert done["status"] == "completed"
    assert await refused(client, d, "pair_action", pairId=pair_id, action="abort") == (
        "pair is completed; cannot abort"
    )


async def test_refusals_carry_the_http_messages(client: Any) -> None:
    pair_id, d, _n = await setup(client)
    outsider = await mcp_token(client, "x1")
    assert await refused(client, outsider, "pair_action", pairId=pair_id, action="abort") == (
        "forbidden"
    )
    assert await refused(client, d, "pair_action", pairId="pair_nope", action="abort") == (
        "pair not found"
    )
    assert await refused(client, d, "pair_action", pairId=pair_id, action="message") == (
        "message is required for action message"
    )
    text = await refused(client, d, "pair_action", pairId=pair_id, action="dance")
    assert "action" in text
