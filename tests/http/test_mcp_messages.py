"""The MCP message tools over ``POST /mcp``: each calls its HTTP route's flow as the token's
agent, answers the route's JSON, and maps every refusal to an ``isError`` result carrying
exactly the HTTP message."""

from __future__ import annotations

import json
from typing import Any

from relay.clock import ManualClock
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_mcp import call_tool, mcp_token, register, rpc

TOOL_NAMES = {
    "send_message",
    "reply",
    "fetch_inbox",
    "ack_messages",
    "list_channels",
    "list_agents",
    "pair_action",
    "task_claim",
    "task_update",
    "task_create",
    "artifact_put",
    "memory_write",
    "memory_search",
    "memory_context",
}


async def ok(client: Any, token: str, name: str, **arguments: Any) -> Any:
    result = (await call_tool(client, token, name, **arguments))["result"]
    assert result.get("isError", False) is False, result["content"]
    assert [c["type"] for c in result["content"]] == ["text"]
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    return result["structuredContent"]


async def refused(client: Any, token: str, name: str, **arguments: Any) -> str:
    result = (await call_tool(client, token, name, **arguments))["result"]
    assert result["isError"] is True, result
    [item] = result["content"]
    assert item["type"] == "text"
    text: str = item["text"]
    return text


async def pair(client: Any) -> tuple[str, str]:
    """Agents a1 and a2 with their MCP tokens."""
    await register(client, "a1", tags=["w"])
    await register(client, "a2")
    return await mcp_token(client, "a1"), await mcp_token(client, "a2")


async def test_tools_list_shows_every_tool_with_http_field_names(client: Any) -> None:
    token, _ = await pair(client)
    response = await rpc(client, token, "tools/list")
    tools = {t["name"]: t for t in (await response.get_json())["result"]["tools"]}
    assert set(tools) == TOOL_NAMES

    def fields(name: str) -> set[str]:
        return set(tools[name]["inputSchema"].get("properties", {}))

    assert fields("send_message") == {
        "to",
        "channelId",
        "body",
        "replyTo",
        "ackRequired",
        "importance",
        "clientMessageId",
        "ttlSeconds",
        "attachments",
    }
    assert fields("reply") == {
        "messageId",
        "body",
        "ackRequired",
        "importance",
        "clientMessageId",
        "attachments",
    }
    assert fields("fetch_inbox") == {"lease", "limit", "peek"}
    assert fields("ack_messages") == {"leaseId", "deliveryIds"}
    assert fields("list_channels") == set()


async def test_send_fetch_and_ack_as_the_tokens_agents(client: Any) -> None:
    a1, a2 = await pair(client)
    # ``from`` is no argument: the sender is the token's agent whatever the caller says.
    sent = await ok(
        client, a1, "send_message", to="a2", body="hi", ackRequired=True, **{"from": "a2"}
    )
    assert sent["message"]["from"] == "a1"
    assert [d["agentId"] for d in sent["deliveries"]] == ["a2"]
    peeked = await ok(client, a2, "fetch_inbox", peek=True)
    assert peeked["leaseId"] is None
    assert [i["message"]["id"] for i in peeked["items"]] == [sent["message"]["id"]]
    fetched = await ok(client, a2, "fetch_inbox", lease=30, limit=5)
    assert fetched["leaseId"].startswith("ls_")
    [item] = fetched["items"]
    assert item["attempt"] == 1
    assert item["message"]["body"] == "hi"
    # a1's inbox is its own: no argument names another agent's.
    assert (await ok(client, a1, "fetch_inbox", agentId="a2", peek=True))["items"] == []
    acked = await ok(client, a2, "ack_messages", leaseId=fetched["leaseId"])
    assert acked == {"acked": [item["deliveryId"]]}
    deliveries = await client.get(f"/api/messages/{sent['message']['id']}/deliveries", headers=H)
    assert [d["state"] for d in await deliveries.get_json()] == ["acked"]


async def test_a_repeated_client_message_id_answers_the_original(client: Any) -> None:
    a1, _ = await pair(client)
    first = await ok(client, a1, "send_message", to="a2", body="x", clientMessageId="c-1")
    again = await ok(client, a1, "send_message", to="a2", body="x", clientMessageId="c-1")
    assert again["message"]["id"] == first["message"]["id"]
    assert (
        await refused(client, a1, "send_message", to="a2", body="y", clientMessageId="c-1")
        == "clientMessageId already used for a different message"
    )


async def test_send_message_errors_carry_the_http_message(client: Any) -> None:
    a1, _ = await pair(client)
    assert await refused(client, a1, "send_message", body="x") == (
        "exactly one of to, channelId is required"
    )
    assert await refused(client, a1, "send_message", to="a2") == "body is required"
    assert await refused(client, a1, "send_message", to="ghost", body="x") == "agent not found"
    assert await refused(client, a1, "send_message", channelId="nope", body="x") == (
        "channel not found"
    )
    assert await refused(client, a1, "send_message", replyTo="msg_x", body="x") == (
        "message not found"
    )
    assert await refused(client, a1, "send_message", to="a2", body="x", ackRequired="yes") == (
        "ackRequired must be a boolean"
    )
    assert await refused(
        client, a1, "send_message", to="a2", body="x", attachments=[{"artifactId": "art_1"}]
    ) == ("artifact not found")


async def test_the_empty_body_is_refused_as_over_http(client: Any) -> None:
    a1, _ = await pair(client)
    http = await client.post(
        "/api/messages", json={"to": "a2", "body": "", "from": "a1"}, headers=H
    )
    assert http.status_code == 400
    message = (await http.get_json())["error"]
    assert await refused(client, a1, "send_message", to="a2", body="") == message


async def test_posting_to_a_channel_answers_as_the_http_route(client: Any, mint: Any) -> None:
    """Whatever the send path does with a channel post (routing, the outbound rule), the
    tool answers the same as ``POST /api/messages`` with the agent's own token."""
    a1, a2 = await pair(client)
    await register(client, "a3", tags=["r"])
    created = await client.post("/api/channels", json={"id": "ops"}, headers=H)
    assert created.status_code == 201
    for body in (
        {"mode": "broadcast", "targetType": "tag", "target": "r", "direction": "inbound"},
        {"mode": "broadcast", "targetType": "tag", "target": "w", "direction": "outbound"},
    ):
        response = await client.post("/api/channels/ops/bindings", json=body, headers=H)
        assert response.status_code == 201
    for agent_id, token in (("a1", a1), ("a2", a2)):
        own = bearer(mint(["message:read", "message:write"], {"agents": [agent_id]}))
        post = {"channelId": "ops", "body": "to all r"}
        http = await client.post(
            "/api/messages", json={**post, "clientMessageId": "http"}, headers=own
        )
        result = (await call_tool(client, token, "send_message", **post))["result"]
        if http.status_code >= 400:
            assert result["isError"] is True
            assert result["content"][0]["text"] == (await http.get_json())["error"]
        else:
            routed = [d["agentId"] for d in (await http.get_json())["deliveries"]]
            assert [d["agentId"] for d in result["structuredContent"]["deliveries"]] == routed


async def test_reply_goes_to_the_other_party(client: Any) -> None:
    a1, a2 = await pair(client)
    sent = await ok(client, a1, "send_message", to="a2", body="question")
    answered = await ok(client, a2, "reply", messageId=sent["message"]["id"], body="answer")
    message = answered["message"]
    assert (message["from"], message["to"]) == ("a2", "a1")
    assert message["replyTo"] == sent["message"]["id"]
    assert message["threadId"] == sent["message"]["id"]
    assert message["conversationId"] == sent["message"]["conversationId"]
    assert message["seq"] == 2


async def test_reply_errors_carry_the_http_message(client: Any) -> None:
    a1, a2 = await pair(client)
    await register(client, "a3")
    a3 = await mcp_token(client, "a3")
    assert await refused(client, a1, "reply", body="x") == "messageId is required"
    assert await refused(client, a1, "reply", messageId="msg_none", body="x") == (
        "message not found"
    )
    sent = await ok(client, a1, "send_message", to="a2", body="private")
    # a3 neither sent nor received it.
    assert await refused(client, a3, "reply", messageId=sent["message"]["id"], body="x") == (
        "forbidden"
    )
    from_root = await client.post("/api/messages", json={"to": "a2", "body": "x"}, headers=H)
    root_message = (await from_root.get_json())["message"]["id"]
    assert await refused(client, a2, "reply", messageId=root_message, body="x") == (
        "cannot reply to root: not an agent"
    )


async def test_fetch_inbox_argument_errors_are_the_query_strings(client: Any) -> None:
    _, a2 = await pair(client)
    assert await refused(client, a2, "fetch_inbox", lease=1) == ("lease must be between 5 and 3600")
    assert await refused(client, a2, "fetch_inbox", lease="x") == "lease must be an integer"
    assert await refused(client, a2, "fetch_inbox", limit=0) == "limit must be between 1 and 100"
    assert await refused(client, a2, "fetch_inbox", limit=101) == (
        "limit must be between 1 and 100"
    )
    assert await refused(client, a2, "fetch_inbox", peek="yes") == "peek must be a boolean"
    # The HTTP route's own words for the same lease.
    http = await client.get("/api/agents/a2/inbox?lease=1", headers=H)
    assert (await http.get_json())["error"] == "lease must be between 5 and 3600"


async def test_fetch_inbox_leases_for_the_default_lease(
    client: Any, services: Any, clock: ManualClock
) -> None:
    a1, a2 = await pair(client)
    await ok(client, a1, "send_message", to="a2", body="x", ackRequired=True)
    fetched = await ok(client, a2, "fetch_inbox")
    lease_ms = services.runtime.settings.inbox_lease_seconds * 1000
    assert fetched["leaseExpiresAt"] == clock.now_ms() + lease_ms
    [item] = fetched["items"]
    deliveries = await client.get(f"/api/messages/{item['message']['id']}/deliveries", headers=H)
    [delivery] = await deliveries.get_json()
    assert (delivery["state"], delivery["leaseId"]) == ("leased", fetched["leaseId"])


async def test_ack_messages_errors_carry_the_http_message(client: Any) -> None:
    a1, a2 = await pair(client)
    await ok(client, a1, "send_message", to="a2", body="x", ackRequired=True)
    fetched = await ok(client, a2, "fetch_inbox")
    [item] = fetched["items"]
    assert await refused(client, a2, "ack_messages") == "leaseId is required"
    assert await refused(client, a2, "ack_messages", leaseId="ls_wrong") == (
        "delivery is not leased by you"
    )
    assert await refused(
        client, a2, "ack_messages", leaseId=fetched["leaseId"], deliveryIds=["dlv_none"]
    ) == ("delivery not found")
    # a1 cannot ack a2's delivery: it is not in a1's inbox, whatever the lease.
    assert await refused(
        client, a1, "ack_messages", leaseId=fetched["leaseId"], deliveryIds=[item["deliveryId"]]
    ) == ("delivery not found")
    # Nothing was acked by the refusals: the right lease still acks it.
    assert await ok(client, a2, "ack_messages", leaseId=fetched["leaseId"]) == {
        "acked": [item["deliveryId"]]
    }


async def test_list_channels_with_can_post_for_the_caller(client: Any) -> None:
    a1, a2 = await pair(client)
    for channel_id in ("alpha", "beta", "gamma"):
        created = await client.post("/api/channels", json={"id": channel_id}, headers=H)
        assert created.status_code == 201
    bindings = {
        "alpha": {"targetType": "tag", "target": "w", "direction": "outbound"},
        "beta": {"targetType": "tag", "target": "w", "direction": "inbound"},
    }
    for channel_id, body in bindings.items():
        response = await client.post(
            f"/api/channels/{channel_id}/bindings",
            json={"mode": "broadcast", **body},
            headers=H,
        )
        assert response.status_code == 201
    listed = await ok(client, a1, "list_channels")
    http = await (await client.get("/api/channels", headers=H)).get_json()
    assert [{k: v for k, v in c.items() if k != "canPost"} for c in listed["channels"]] == http
    assert [(c["id"], c["canPost"]) for c in listed["channels"]] == [
        ("alpha", True),
        ("beta", False),
        ("gamma", False),
    ]
    others = await ok(client, a2, "list_channels")
    assert [c["canPost"] for c in others["channels"]] == [False, False, False]


async def test_each_tool_needs_its_routes_scope(client: Any, mint: Any) -> None:
    await pair(client)
    read_only = mint(["message:read"], {"agents": ["a1"]})
    write_only = mint(["message:write"], {"agents": ["a1"]})
    assert await refused(client, read_only, "send_message", to="a2", body="x") == "forbidden"
    assert await refused(client, read_only, "reply", messageId="msg_x", body="x") == "forbidden"
    assert await refused(client, read_only, "ack_messages", leaseId="ls_x") == "forbidden"
    assert await refused(client, write_only, "fetch_inbox") == "forbidden"
    assert await refused(client, write_only, "list_channels") == "forbidden"
    # And the HTTP routes agree.
    response = await client.post(
        "/api/messages", json={"to": "a2", "body": "x"}, headers=bearer(read_only)
    )
    assert response.status_code == 403
