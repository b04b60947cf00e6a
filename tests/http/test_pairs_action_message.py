"""A pair action given a ``message`` is one request: when the message would be refused as
a send (its body over 65,536 bytes, empty…) or the relay has no room for another send,
the answer is that error and the pair has not moved, so the same request can be sent
again, corrected (spec tasks.md, "Pairs"; messaging's send rules)."""

from __future__ import annotations

from typing import Any

import pytest

from relay.http.services import Services
from tests.http.helpers import H
from tests.http.test_mcp import mcp_token, register
from tests.http.test_mcp_messages import ok, refused
from tests.http.test_pairs import act, agent, error_of, token_for

TOO_LONG = "x" * 65_537


async def active_pair(client: Any) -> dict[str, Any]:
    response = await client.post("/api/pairs", json={"driver": "d1", "navigator": "n1"}, headers=H)
    assert response.status_code == 201, await response.get_data()
    pair: dict[str, Any] = await response.get_json()
    assert pair["status"] == "active"
    return pair


async def stored(client: Any, pair_id: str) -> tuple[str, int]:
    pair = await (await client.get(f"/api/pairs/{pair_id}", headers=H)).get_json()
    return pair["status"], pair["version"]


async def inbox_bodies(client: Any, agent_id: str) -> list[str]:
    response = await client.get(f"/api/agents/{agent_id}/inbox?peek=true", headers=H)
    return [item["message"]["body"] for item in (await response.get_json())["items"]]


async def test_an_action_whose_message_is_too_long_is_refused_and_changes_nothing(
    client: Any, mint: Any
) -> None:
    """400 ``body must be at most 65536 bytes``: the pair stays active at its version and
    the navigator got nothing; the same action with a shorter note then succeeds."""
    await agent(client, "d1")
    await agent(client, "n1")
    pair = await active_pair(client)
    driver = token_for(mint, "d1")
    before = await inbox_bodies(client, "n1")
    response = await act(client, pair["id"], driver, action="request-review", message=TOO_LONG)
    assert await error_of(response) == (400, "body must be at most 65536 bytes")
    assert await stored(client, pair["id"]) == ("active", pair["version"])
    assert await inbox_bodies(client, "n1") == before
    retry = await act(client, pair["id"], driver, action="request-review", message="ready")
    assert retry.status_code == 200, await retry.get_data()
    assert (await retry.get_json())["status"] == "awaiting_review"
    assert (await inbox_bodies(client, "n1"))[-1] == "ready"


async def test_an_action_refused_for_overload_changes_nothing(
    client: Any, mint: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every send slot taken, an action carrying a message is a send like any other:
    503 with ``Retry-After``, and the pair has not moved."""
    await agent(client, "d1")
    await agent(client, "n1")
    pair = await active_pair(client)
    monkeypatch.setattr(services.runtime.sends, "limit", 0)
    response = await act(
        client, pair["id"], token_for(mint, "d1"), action="request-review", message="ready"
    )
    assert response.status_code == 503, await response.get_data()
    assert response.headers.get("Retry-After")
    assert await stored(client, pair["id"]) == ("active", pair["version"])


async def test_the_pair_action_tool_refuses_a_bad_message_before_acting(client: Any) -> None:
    """MCP ``pair_action`` answers as the route: the refusal's text, nothing changed."""
    await register(client, "d1")
    await register(client, "n1")
    d, n = await mcp_token(client, "d1"), await mcp_token(client, "n1")
    response = await client.post("/api/pairs", json={"driver": "d1", "navigator": "n1"}, headers=H)
    pair_id = (await response.get_json())["id"]
    await ok(client, d, "pair_action", pairId=pair_id, action="join")
    joined = await ok(client, n, "pair_action", pairId=pair_id, action="join")
    assert joined["status"] == "active"
    text = await refused(
        client, d, "pair_action", pairId=pair_id, action="request-review", message=TOO_LONG
    )
    assert text == "body must be at most 65536 bytes"
    assert await stored(client, pair_id) == ("active", joined["version"])
