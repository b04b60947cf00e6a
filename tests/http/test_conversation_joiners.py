"""A participant of a channel's conversation reads what its agents sent or were delivered,
as each message is read: an agent bound to a channel is not handed what was said there
before it joined, nor since, to others."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, two_hosts
from tests.http.test_messages import agent, send


async def _o2_channel(client: Any) -> None:
    """Hosts o1 and o2, agents v and w on o2 and a1 on o1; channel ops2, used by o2's agents
    only: v receives (inbound), w posts (outbound)."""
    await two_hosts(client, "v", "w")
    response = await client.post(
        "/api/agents", json={"id": "a1", "orchestratorId": "o1"}, headers=H
    )
    assert response.status_code == 201
    assert (await client.post("/api/channels", json={"id": "ops2"}, headers=H)).status_code == 201
    for target, direction in (("v", "inbound"), ("w", "outbound")):
        binding = {"mode": "broadcast", "targetType": "agent", "target": target}
        response = await client.post(
            "/api/channels/ops2/bindings", json={**binding, "direction": direction}, headers=H
        )
        assert response.status_code == 201


async def test_binding_its_agent_to_a_channel_does_not_open_the_channels_past(
    client: Any, mint: Any
) -> None:
    """A dashboard token limited to o1 (config:write, as the house lets a constrained token
    bind the agents it covers) binds its agent a1 to o2's channel and posts once: a1 is then
    a participant of the channel's one conversation, and the token reads every message o2's
    agents exchanged there before it joined, none of which it reaches."""
    await _o2_channel(client)
    earlier = await client.post(
        "/api/messages",
        json={"from": "w", "channelId": "ops2", "body": "o2-only plan"},
        headers=H,
    )
    assert earlier.status_code == 201, await earlier.get_data()
    conversation_id = (await earlier.get_json())["message"]["conversationId"]

    o1 = bearer(
        mint(
            ["config:write", "message:read", "message:write"],
            {"orchestrators": ["o1"]},
            sub="ops1",
            role="dashboard",
        )
    )
    # It reads neither the message nor the conversation now.
    response = await client.get(f"/api/conversations/{conversation_id}/messages", headers=o1)
    assert response.status_code == 403
    response = await client.post(
        "/api/channels/ops2/bindings",
        json={"mode": "broadcast", "targetType": "agent", "target": "a1"},
        headers=o1,
    )
    assert response.status_code == 201, await response.get_data()
    response = await client.post(
        "/api/messages", json={"from": "a1", "channelId": "ops2", "body": "hi"}, headers=o1
    )
    assert response.status_code == 201, await response.get_data()
    response = await client.get(f"/api/conversations/{conversation_id}/messages", headers=o1)
    assert response.status_code == 200, await response.get_data()
    # From its agent's first message on: its own, and what follows.
    later = await client.post(
        "/api/messages", json={"from": "w", "channelId": "ops2", "body": "welcome"}, headers=H
    )
    assert later.status_code == 201, await later.get_data()
    response = await client.get(f"/api/conversations/{conversation_id}/messages", headers=o1)
    read = await response.get_json()
    assert [m["body"] for m in read["messages"]] == ["hi", "welcome"]
    assert read["lastSeq"] == 3
    # Root reads it whole.
    response = await client.get(f"/api/conversations/{conversation_id}/messages", headers=H)
    assert [m["body"] for m in (await response.get_json())["messages"]] == [
        "o2-only plan",
        "hi",
        "welcome",
    ]


async def test_a_channel_joiner_does_not_read_later_messages_never_routed_to_its_agent(
    client: Any, mint: Any
) -> None:
    """A dashboard token limited to o1 binds its agent a1 to o2's channel outbound only and
    posts once: a1 is a participant, but the later messages o2's agents exchange there are
    routed to v only, never to a1. The conversation hands over what GET /api/messages/:id
    would (each of those is 403): the one rule for one record."""
    await _o2_channel(client)
    ops1 = bearer(
        mint(
            ["config:write", "message:read", "message:write"],
            {"orchestrators": ["o1"]},
            sub="ops1",
            role="dashboard",
        )
    )
    response = await client.post(
        "/api/channels/ops2/bindings",
        json={"mode": "broadcast", "targetType": "agent", "target": "a1", "direction": "outbound"},
        headers=ops1,
    )
    assert response.status_code == 201, await response.get_data()
    response = await client.post(
        "/api/messages", json={"from": "a1", "channelId": "ops2", "body": "hi"}, headers=ops1
    )
    assert response.status_code == 201, await response.get_data()
    conversation_id = (await response.get_json())["message"]["conversationId"]
    later = await client.post(
        "/api/messages",
        json={"from": "w", "channelId": "ops2", "body": "o2-only: the db password is hunter2"},
        headers=H,
    )
    assert later.status_code == 201, await later.get_data()
    later_message = (await later.get_json())["message"]
    assert [d["agentId"] for d in (await later.get_json())["deliveries"]] == ["v"]
    one = await client.get(f"/api/messages/{later_message['id']}", headers=ops1)
    assert one.status_code == 403
    response = await client.get(f"/api/conversations/{conversation_id}/messages", headers=ops1)
    text = (await response.get_data()).decode()
    assert "hunter2" not in text, text


async def test_a_third_agent_brought_into_a_direct_conversation_does_not_read_its_past(
    client: Any, mint: Any
) -> None:
    """A reply sent as a third agent c (by a caller acting for c and for the parent's
    recipient) stays in the parent's conversation and makes c a participant: c's own token
    reads there what c sent or was delivered, never what a said to b."""
    for agent_id in ("a", "b", "c"):
        await agent(client, agent_id)
    secret = await send(client, to="b", body="a to b: the secret", **{"from": "a"})
    assert secret.status_code == 201, await secret.get_data()
    parent = (await secret.get_json())["message"]
    joined = await send(client, replyTo=parent["id"], body="c chimes in", **{"from": "c"})
    assert joined.status_code == 201, await joined.get_data()
    assert (await joined.get_json())["message"]["conversationId"] == parent["conversationId"]
    c_token = bearer(mint(["message:read"], {"agents": ["c"]}))
    response = await client.get(
        f"/api/conversations/{parent['conversationId']}/messages", headers=c_token
    )
    assert response.status_code == 200, await response.get_data()
    bodies = [m["body"] for m in (await response.get_json())["messages"]]
    assert "a to b: the secret" not in bodies, bodies
    # As GET /api/messages/:id judges that message for c's token:
    single = await client.get(f"/api/messages/{parent['id']}", headers=c_token)
    assert single.status_code == 403
