"""GET /api/conversations without ``agentId`` (messaging.md "Conversations"): every
conversation for an unconstrained operator, a one-agent token's own, 400 for anyone else;
with ``agentId`` the caller must act for it. ``limit`` bounds both, most recent first."""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from relay.domain.messages import direct_conversation_id
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_messages import agent, error_of, send

A1_A2 = direct_conversation_id("a1", "a2")
A1_A3 = direct_conversation_id("a1", "a3")
A2_A3 = direct_conversation_id("a2", "a3")


async def three_conversations(client: Any, clock: ManualClock) -> None:
    """a1→a2, then a1→a3, then a2→a3, a second apart: the last is the most recent."""
    for agent_id in ("a1", "a2", "a3"):
        await agent(client, agent_id)
    for sender, to in (("a1", "a2"), ("a1", "a3"), ("a2", "a3")):
        clock.advance(1)
        response = await send(client, to=to, body="hi", **{"from": sender})
        assert response.status_code == 201, await response.get_data()


async def listed(client: Any, headers: dict[str, str], query: str = "") -> list[str]:
    response = await client.get(f"/api/conversations{query}", headers=headers)
    assert response.status_code == 200, await response.get_data()
    return [c["id"] for c in await response.get_json()]


async def test_an_operator_lists_every_conversation_most_recent_first(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    await three_conversations(client, clock)
    assert await listed(client, H) == [A2_A3, A1_A3, A1_A2]
    assert await listed(client, H, "?limit=2") == [A2_A3, A1_A3]
    dashboard = bearer(mint(["message:read"], role="dashboard"))
    assert await listed(client, dashboard) == [A2_A3, A1_A3, A1_A2]
    # A later message moves its conversation to the front.
    clock.advance(1)
    await send(client, to="a2", body="again", **{"from": "a1"})
    assert await listed(client, H, "?limit=1") == [A1_A2]


async def test_an_agent_token_lists_its_own_agents_conversations(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    await three_conversations(client, clock)
    own = bearer(mint(["message:read"], {"agents": ["a1"]}))
    assert await listed(client, own) == [A1_A3, A1_A2]
    assert await listed(client, own, "?limit=1") == [A1_A3]
    assert await listed(client, own, "?agentId=a1") == [A1_A3, A1_A2]
    assert await error_of(await client.get("/api/conversations?agentId=a2", headers=own)) == (
        403,
        "forbidden",
    )


async def test_a_constrained_operator_token_never_lists_everything(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    await three_conversations(client, clock)
    narrowed = bearer(mint(["message:read"], {"agents": ["a3"]}, role="dashboard"))
    assert await listed(client, narrowed) == [A2_A3, A1_A3]
    response = await client.get("/api/conversations?agentId=a1", headers=narrowed)
    assert await error_of(response) == (403, "forbidden")
    elsewhere = bearer(mint(["message:read"], {"cwd": ["/srv"]}, role="dashboard"))
    response = await client.get("/api/conversations", headers=elsewhere)
    assert await error_of(response) == (400, "agentId is required")


async def test_without_agent_id_anyone_else_is_told_to_name_one(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    await three_conversations(client, clock)
    for constraints in (None, {"agents": ["a1", "a2"]}, {"orchestrators": ["o1"]}):
        token = bearer(mint(["message:read"], constraints))
        response = await client.get("/api/conversations", headers=token)
        assert await error_of(response) == (400, "agentId is required"), constraints
    two = bearer(mint(["message:read"], {"agents": ["a1", "a2"]}))
    assert await listed(client, two, "?agentId=a2") == [A2_A3, A1_A2]


async def test_limit_is_checked(client: Any, mint: Any) -> None:
    own = bearer(mint(["message:read"], {"agents": ["a1"]}))
    for headers in (H, own):
        for limit in ("0", "501", "x"):
            response = await client.get(f"/api/conversations?limit={limit}", headers=headers)
            assert response.status_code == 400, limit
    response = await client.get("/api/conversations?limit=0", headers=H)
    assert await error_of(response) == (400, "limit must be between 1 and 500")
    assert await listed(client, H, "?limit=500") == []


async def test_listing_needs_message_read(client: Any, mint: Any) -> None:
    token = bearer(mint(["message:write"], role="dashboard"))
    assert (await client.get("/api/conversations", headers=token)).status_code == 403


async def test_a_constrained_operator_token_reads_only_its_agents_messages(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    await three_conversations(client, clock)
    narrowed = bearer(mint(["message:read"], {"agents": ["a3"]}, role="dashboard"))
    listing = await (await client.get(f"/api/conversations/{A1_A2}/messages", headers=H)).get_json()
    [between_a1_a2] = listing["messages"]
    for path in (
        f"/api/messages/{between_a1_a2['id']}",
        f"/api/messages/{between_a1_a2['id']}/deliveries",
        f"/api/conversations/{A1_A2}/messages",
    ):
        assert await error_of(await client.get(path, headers=narrowed)) == (403, "forbidden")
    response = await client.get(f"/api/conversations/{A1_A3}/messages", headers=narrowed)
    assert response.status_code == 200
    [to_a3] = (await response.get_json())["messages"]
    response = await client.get(f"/api/messages/{to_a3['id']}/deliveries", headers=narrowed)
    assert [d["agentId"] for d in await response.get_json()] == ["a3"]
