"""Ids longer than their column: a clear 4xx that changes nothing, never the store's own
column check (a 500, or an ORM's text over MCP)."""

from __future__ import annotations

from typing import Any

from relay.domain.orchestrators import ORCHESTRATOR_ID_MAX_LENGTH
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.test_mcp import call_tool, mcp_token


async def test_an_over_long_message_or_conversation_id_is_a_404_not_a_500(client: Any) -> None:
    """``msg_``/``cnv_`` ids are 36 characters; a longer one names no row (``path_ids``
    answers every other path id kind so). It reached the store's 64-character column
    check: 500 ``internal error``."""
    long_id = "msg_" + "x" * 80
    for path, error in (
        (f"/api/messages/{long_id}", "message not found"),
        (f"/api/messages/{long_id}/deliveries", "message not found"),
        (f"/api/conversations/cnv_{'x' * 80}/messages", "conversation not found"),
    ):
        response = await client.get(path, headers=H)
        assert response.status_code == 404, (path, await response.get_data())
        assert await response.get_json() == {"error": error}


async def test_an_over_long_delivery_id_in_an_ack_is_a_clear_4xx(client: Any) -> None:
    """``deliveryIds`` items have no length limit: one over the column's width failed the
    store's check, 500 over HTTP, and over MCP a JSON-RPC error carrying the ORM's text
    instead of the HTTP message as an ``isError`` result."""
    response = await client.post("/api/agents", json={"id": "a1"}, headers=H)
    assert response.status_code == 201
    body = {"leaseId": "ls_x", "deliveryIds": ["dlv_" + "d" * 80]}
    response = await client.post("/api/agents/a1/inbox/ack", json=body, headers=H)
    assert 400 <= response.status_code < 500, await response.get_data()
    http_error = (await response.get_json())["error"]
    answer = await call_tool(client, await mcp_token(client, "a1"), "ack_messages", **body)
    assert "error" not in answer, answer
    assert answer["result"]["isError"] is True
    assert answer["result"]["content"][0]["text"] == http_error


async def test_an_agent_memory_with_an_overlong_scope_key_is_a_4xx_not_a_500(
    client: Any,
) -> None:
    """An operator names an agent-scope ``scopeKey`` of 1,024 characters (the field's own
    limit): the memory event's agent column holds 200, so the commit fails with a 500
    ``internal error`` instead of a clear 400/404, and nothing may be stored."""
    memory = {
        "scope": "agent",
        "scopeKey": "a" * 1024,
        "type": "user",
        "title": "t",
        "body": "b",
    }
    response = await client.post("/api/memory", json=memory, headers=H)
    assert 400 <= response.status_code < 500, await response.get_data()
    assert "error" in await response.get_json()
    found = await (await client.get("/api/memory", headers=H)).get_json()
    assert found["items"] == []


async def test_an_orchestrator_id_its_token_subject_cannot_hold_is_refused(client: Any) -> None:
    """The runtime token's subject is ``orchestrator:<id>``, kept in a 200-character column:
    a 200-character id failed the token record (500) after the orchestrator was stored."""
    longest = "o" * ORCHESTRATOR_ID_MAX_LENGTH
    too_long = longest + "o"
    response = await client.post(
        "/api/orchestrators", json={"id": too_long, "baseDir": "/srv/o"}, headers=H
    )
    assert response.status_code == 400
    assert await response.get_json() == {
        "error": f"id must be at most {ORCHESTRATOR_ID_MAX_LENGTH} characters"
    }
    assert (await client.get(f"/api/orchestrators/{too_long}", headers=H)).status_code == 404

    registered = await register_orchestrator(client, longest, "/srv/o")
    heartbeat = await client.post(
        f"/api/orchestrators/{longest}/heartbeat", json={}, headers=bearer(registered["token"])
    )
    assert heartbeat.status_code == 200, await heartbeat.get_data()


async def test_an_mcp_token_whose_subject_is_too_long_is_a_400(client: Any) -> None:
    """``mcp:<agent>`` of a 200-character agent id is 204 characters: refused as such, where
    the token record's column check was a 500. Nothing is minted."""
    agent_id = "a" * 200
    created = await client.post("/api/agents", json={"id": agent_id}, headers=H)
    assert created.status_code == 201
    minted = await client.post(f"/api/agents/{agent_id}/mcp-token", json={}, headers=H)
    assert minted.status_code == 400
    assert await minted.get_json() == {"error": "token sub must be at most 200 characters"}
    tokens = await (await client.get("/api/tokens", headers=H)).get_json()
    assert not [t for t in tokens if t["sub"].startswith("mcp:")]
