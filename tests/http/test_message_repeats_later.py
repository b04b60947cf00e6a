"""Promise 1 after things changed: a repeat is answered with the original while it is
retained, though its recipient, channel, outbound binding or attachment is gone since."""

from __future__ import annotations

from typing import Any

from tests.http.helpers import H
from tests.http.test_artifacts import uploaded
from tests.http.test_channel_messages import channel, register
from tests.http.test_messages import agent, send


async def test_a_repeat_after_the_recipient_was_deleted_answers_the_original(
    client: Any,
) -> None:
    """Promise 1: ``(from, clientMessageId)`` names one message while it is retained; a
    repeat with the same input → 200 with the original, nothing queued."""
    await agent(client, "a1")
    await agent(client, "a2")
    first = await send(client, to="a2", body="x", clientMessageId="c1", **{"from": "a1"})
    assert first.status_code == 201
    original = (await first.get_json())["message"]
    deleted = await client.delete("/api/agents/a2", headers=H)
    assert deleted.status_code == 200
    # The message is still retained.
    kept = await client.get(f"/api/messages/{original['id']}", headers=H)
    assert kept.status_code == 200
    repeat = await send(client, to="a2", body="x", clientMessageId="c1", **{"from": "a1"})
    assert repeat.status_code == 200, await repeat.get_json()
    assert (await repeat.get_json())["message"]["id"] == original["id"]


async def test_a_repeat_after_the_channel_was_deleted_answers_the_original(
    client: Any,
) -> None:
    """Promise 1 again: ``DELETE /api/channels/:id`` keeps the messages, so a client's
    retry of a post it already made is answered with the original (200), not 404."""
    await register(client, "a1", tags=["w"])
    await register(client, "a2", tags=["w"])
    await channel(client, "ops", {"mode": "broadcast"})
    body = {"channelId": "ops", "body": "x", "clientMessageId": "c1", "from": "a1"}
    first = await client.post("/api/messages", json=body, headers=H)
    assert first.status_code == 201, await first.get_json()
    original = (await first.get_json())["message"]
    deleted = await client.delete("/api/channels/ops", headers=H)
    assert deleted.status_code == 200
    kept = await client.get(f"/api/messages/{original['id']}", headers=H)
    assert kept.status_code == 200
    repeat = await client.post("/api/messages", json=body, headers=H)
    assert repeat.status_code == 200, await repeat.get_json()
    assert (await repeat.get_json())["message"]["id"] == original["id"]


async def test_a_repeat_after_the_outbound_binding_was_removed_answers_the_original(
    client: Any,
) -> None:
    """Promise 1: the repeat is judged as the original's retry (200), not as a new post
    refused 403 because the channel's bindings changed since."""
    await register(client, "a1", tags=["w"])
    await register(client, "a2", tags=["r"])
    await channel(client, "ops")
    out = await client.post(
        "/api/channels/ops/bindings",
        json={"mode": "broadcast", "targetType": "agent", "target": "a1", "direction": "outbound"},
        headers=H,
    )
    assert out.status_code == 201
    binding_id = (await out.get_json())["id"]
    inbound = await client.post(
        "/api/channels/ops/bindings",
        json={"mode": "broadcast", "targetType": "tag", "target": "r", "direction": "inbound"},
        headers=H,
    )
    assert inbound.status_code == 201
    body = {"channelId": "ops", "body": "x", "clientMessageId": "c1", "from": "a1"}
    first = await client.post("/api/messages", json=body, headers=H)
    assert first.status_code == 201, await first.get_json()
    original = (await first.get_json())["message"]
    removed = await client.delete(f"/api/channels/ops/bindings/{binding_id}", headers=H)
    assert removed.status_code == 200
    repeat = await client.post("/api/messages", json=body, headers=H)
    assert repeat.status_code == 200, await repeat.get_json()
    assert (await repeat.get_json())["message"]["id"] == original["id"]


async def test_a_different_send_under_the_key_after_the_recipient_was_deleted_is_409(
    client: Any,
) -> None:
    """The repeat is judged on its fields even where it cannot be routed: reusing the key
    for another body is 409, not the recipient's 404."""
    await agent(client, "a1")
    await agent(client, "a2")
    first = await send(client, to="a2", body="x", clientMessageId="c1", **{"from": "a1"})
    assert first.status_code == 201
    assert (await client.delete("/api/agents/a2", headers=H)).status_code == 200
    other = await send(client, to="a2", body="y", clientMessageId="c1", **{"from": "a1"})
    assert (other.status_code, await other.get_json()) == (
        409,
        {"error": "clientMessageId already used for a different message"},
    )
    unknown = await send(client, to="a2", body="x", clientMessageId="c2", **{"from": "a1"})
    assert (unknown.status_code, await unknown.get_json()) == (404, {"error": "agent not found"})


async def test_a_repeat_after_its_attachment_was_deleted_answers_the_original(
    client: Any,
) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    artifact = (await uploaded(client, b"report"))["artifact"]
    body = {
        "to": "a2",
        "body": "see attached",
        "clientMessageId": "c1",
        "from": "a1",
        "attachments": [{"artifactId": artifact["id"]}],
    }
    first = await client.post("/api/messages", json=body, headers=H)
    assert first.status_code == 201, await first.get_json()
    original = (await first.get_json())["message"]
    gone = await client.delete(f"/api/artifacts/{artifact['id']}", headers=H)
    assert gone.status_code in (200, 204)
    repeat = await client.post("/api/messages", json=body, headers=H)
    assert repeat.status_code == 200, await repeat.get_json()
    answered = await repeat.get_json()
    assert answered["message"] == original
    assert [d["agentId"] for d in answered["deliveries"]] == ["a2"]
