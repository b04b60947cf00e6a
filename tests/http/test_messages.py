"""POST /api/messages, GET /api/messages/:id(/deliveries), conversations (spec/messaging.md)."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.domain.messages import direct_conversation_id
from tests.conftest import bearer
from tests.http.helpers import H


async def agent(client: Any, agent_id: str, **fields: Any) -> None:
    response = await client.post(
        "/api/agents", json={"id": agent_id, "name": agent_id, **fields}, headers=H
    )
    assert response.status_code in (200, 201), await response.get_data()


async def send(client: Any, headers: Any = None, **body: Any) -> Any:
    return await client.post("/api/messages", json=body, headers=headers or H)


async def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, (await response.get_json())["error"]


async def test_send_to_an_agent_queues_one_delivery(client: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    response = await send(client, to="a2", body="hello", **{"from": "a1"})
    assert response.status_code == 201
    reply = await response.get_json()
    message = reply["message"]
    assert message["from"] == "a1"
    assert message["to"] == "a2"
    assert message["seq"] == 1
    assert message["threadId"] == message["id"]
    assert message["clientMessageId"] == message["id"]
    assert message["conversationId"] == direct_conversation_id("a1", "a2")
    assert message["id"].startswith("msg_")
    assert len(message["id"]) == 36
    assert message["maxAttempts"] == 5
    assert message["expiresAt"] - message["createdAt"] == 604_800_000
    [delivery] = reply["deliveries"]
    assert delivery["agentId"] == "a2"
    assert delivery["state"] == "queued"
    assert delivery["attempt"] == 0


async def test_sender_defaults_to_the_caller(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    root = await (await send(client, to="a2", body="x")).get_json()
    assert root["message"]["from"] == "root"
    token = mint(["message:write", "message:read"], {"agents": ["a1"]})
    own = await (await send(client, bearer(token), to="a2", body="x")).get_json()
    assert own["message"]["from"] == "a1"


async def test_a_bound_agent_outside_the_tokens_other_constraints_is_no_sender(
    client: Any, mint: Any
) -> None:
    """The caller's one agent is its sender only if it acts for it: a token bound to
    {agents: [a2], orchestrators: [o1]} must not speak as o2's agent a2. (A token:admin
    limited to o1 may no longer issue it, as it does not act for a2; root still may.)"""
    await agent(client, "a1", orchestratorId="o1")
    await agent(client, "a2", orchestratorId="o2")
    admin = bearer(
        mint(["token:admin", "message:write", "message:read"], {"orchestrators": ["o1"]})
    )
    body = {
        "sub": "test-component:posing",  # named after the admin, as it must be
        "role": "provider",
        "scope": ["message:write", "message:read"],
        "constraints": {"agents": ["a2"], "orchestrators": ["o1"]},
    }
    response = await client.post("/api/tokens", json=body, headers=admin)
    assert await error_of(response) == (
        403,
        "cannot grant agent a2: the caller does not act for it",
    )
    response = await client.post("/api/tokens", json=body, headers=H)
    assert response.status_code == 201, await response.get_json()
    posing = bearer((await response.get_json())["token"])
    response = await send(client, posing, to="a1", body="I am a2")
    assert await error_of(response) == (403, "forbidden")
    response = await client.get("/api/agents/a1/inbox?peek=true", headers=H)
    assert (await response.get_json())["items"] == []


async def test_a_subject_naming_an_agent_neither_speaks_nor_reads_as_it(
    client: Any, mint: Any
) -> None:
    """The sender falls back to the token's sub only when that is not an agent it does not
    act for: a subject is an admin's free text, constraints are what bind a token."""
    await agent(client, "a1")
    await agent(client, "a2")
    await agent(client, "a3")
    sent = await (await send(client, to="a2", body="secret", **{"from": "a1"})).get_json()
    posing = bearer(mint(["message:write", "message:read"], {"agents": ["a2", "a3"]}, sub="a1"))
    response = await send(client, posing, to="a3", body="I am a1")
    assert await error_of(response) == (403, "forbidden")
    # It acts for the recipient, so it reads the message, but only its own side of it.
    message_id = sent["message"]["id"]
    response = await client.get(f"/api/messages/{message_id}", headers=posing)
    assert response.status_code == 200
    response = await client.get(f"/api/messages/{message_id}/deliveries", headers=posing)
    assert [d["agentId"] for d in await response.get_json()] == ["a2"]
    outsider = bearer(mint(["message:read"], {"agents": ["a3"]}, sub="a1"))
    response = await client.get(f"/api/messages/{message_id}", headers=outsider)
    assert await error_of(response) == (403, "forbidden")
    # A sub that names no agent is still the sender, and reads what it sent.
    service = bearer(mint(["message:write", "message:read"], sub="ci-bot", role="integration"))
    own = await (await send(client, service, to="a2", body="build green")).get_json()
    assert own["message"]["from"] == "ci-bot"
    response = await client.get(f"/api/messages/{own['message']['id']}", headers=service)
    assert response.status_code == 200


async def test_send_errors(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"body": "x"}, 400, "exactly one of to, channelId is required"),
        (
            {"to": "a2", "channelId": "c", "body": "x"},
            400,
            "exactly one of to, channelId is required",
        ),
        ({"to": "a2", "body": ""}, 400, "body must not be empty"),
        ({"to": "a2", "body": "é" * 40000}, 400, "body must be at most 65536 bytes"),
        (
            {"to": "a2", "body": "x", "clientMessageId": "a b"},
            400,
            "clientMessageId must be 1..128 of A-Z a-z 0-9 . _ : -",
        ),
        (
            {"to": "a2", "body": "x", "ttlSeconds": 59},
            400,
            "ttlSeconds must be between 60 and 2592000",
        ),
        ({"to": "a2", "body": "x", "maxAttempts": 21}, 400, "maxAttempts must be between 1 and 20"),
        (
            {"to": "a2", "body": "x", "importance": "huge"},
            400,
            "importance must be one of low, normal, high, urgent",
        ),
        (
            {"to": "a2", "body": "x", "attachments": [{"artifactId": "x"}] * 11},
            400,
            "attachments must have at most 10 items",
        ),
        ({"to": "nobody", "body": "x"}, 404, "agent not found"),
        ({"channelId": "general", "body": "x"}, 404, "channel not found"),
        ({"replyTo": "msg_missing", "body": "x"}, 404, "message not found"),
        (
            {"to": "a2", "body": "x", "attachments": [{"artifactId": "art1"}]},
            404,
            "artifact not found",
        ),
        ({"to": "a2", "body": "x", "from": "ghost"}, 404, "agent not found"),
    ]
    for body, status, error in cases:
        assert await error_of(await send(client, **body)) == (status, error), body
    token = mint(["message:write"], {"agents": ["a1"]})
    refused = await send(client, bearer(token), to="a2", body="x", **{"from": "a2"})
    assert await error_of(refused) == (403, "forbidden")
    unscoped = mint(["message:read"], {"agents": ["a1"]})
    assert (await send(client, bearer(unscoped), to="a2", body="x")).status_code == 403
    assert (await client.post("/api/messages", json={"to": "a2", "body": "x"})).status_code == 401


async def test_reply_goes_to_the_other_party_in_the_same_conversation(
    client: Any, mint: Any
) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    first = (await (await send(client, to="a2", body="q", **{"from": "a1"})).get_json())["message"]
    a2 = bearer(mint(["message:write", "message:read"], {"agents": ["a2"]}))
    response = await send(client, a2, replyTo=first["id"], body="answer")
    assert response.status_code == 201
    reply = await response.get_json()
    assert reply["message"]["to"] == "a1"
    assert reply["message"]["conversationId"] == first["conversationId"]
    assert reply["message"]["seq"] == 2
    assert reply["message"]["threadId"] == first["id"]
    assert reply["deliveries"][0]["agentId"] == "a1"


async def test_reply_to_a_non_agent_is_refused(client: Any, mint: Any) -> None:
    await agent(client, "a2")
    first = (await (await send(client, to="a2", body="q")).get_json())["message"]
    a2 = bearer(mint(["message:write", "message:read"], {"agents": ["a2"]}))
    response = await send(client, a2, replyTo=first["id"], body="answer")
    assert await error_of(response) == (409, "cannot reply to root: not an agent")


async def test_reply_to_an_unreadable_message_is_forbidden(client: Any, mint: Any) -> None:
    for agent_id in ("a1", "a2", "a3"):
        await agent(client, agent_id)
    first = (await (await send(client, to="a2", body="q", **{"from": "a1"})).get_json())["message"]
    a3 = bearer(mint(["message:write", "message:read"], {"agents": ["a3"]}))
    assert await error_of(await send(client, a3, replyTo=first["id"], body="x")) == (
        403,
        "forbidden",
    )


async def test_repeat_is_idempotent_and_a_different_repeat_conflicts(client: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    body = {"to": "a2", "body": "hi", "clientMessageId": "c-1", "from": "a1"}
    first = await send(client, **body)
    again = await send(client, **body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert await first.get_json() == await again.get_json()
    differs = await send(client, **{**body, "body": "other"})
    assert await error_of(differs) == (409, "clientMessageId already used for a different message")
    elsewhere = await send(client, **{**body, "to": "a1"})
    assert elsewhere.status_code == 409


async def test_fifty_concurrent_sends_get_seq_1_to_50(client: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    seqs: list[int] = []

    async def one(i: int) -> None:
        response = await send(client, to="a2", body=f"m{i}", **{"from": "a1"})
        assert response.status_code == 201
        seqs.append((await response.get_json())["message"]["seq"])

    async with trio.open_nursery() as nursery:
        for i in range(50):
            nursery.start_soon(one, i)
    assert sorted(seqs) == list(range(1, 51))
    conversation = direct_conversation_id("a1", "a2")
    page = await (
        await client.get(f"/api/conversations/{conversation}/messages?limit=500", headers=H)
    ).get_json()
    assert [m["seq"] for m in page["messages"]] == list(range(1, 51))
    assert page["lastSeq"] == 50


async def test_twenty_concurrent_repeats_make_one_message(client: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    replies: list[tuple[int, str, str]] = []

    async def one() -> None:
        response = await send(client, to="a2", body="x", clientMessageId="same", **{"from": "a1"})
        reply = await response.get_json()
        replies.append((response.status_code, reply["message"]["id"], reply["deliveries"][0]["id"]))

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(one)
    statuses = sorted(status for status, _, _ in replies)
    assert statuses == [200] * 19 + [201]
    assert len({message_id for _, message_id, _ in replies}) == 1
    assert len({delivery_id for _, _, delivery_id in replies}) == 1
    inbox = await (await client.get("/api/agents/a2/inbox?peek=true", headers=H)).get_json()
    assert len(inbox["items"]) == 1


async def test_read_a_message_and_its_deliveries(client: Any, mint: Any) -> None:
    for agent_id in ("a1", "a2", "a3"):
        await agent(client, agent_id)
    sent = await (await send(client, to="a2", body="hi", **{"from": "a1"})).get_json()
    message_id = sent["message"]["id"]
    for reader in ("a1", "a2"):
        token = bearer(mint(["message:read"], {"agents": [reader]}))
        got = await client.get(f"/api/messages/{message_id}", headers=token)
        assert got.status_code == 200
        assert (await got.get_json())["body"] == "hi"
        deliveries = await client.get(f"/api/messages/{message_id}/deliveries", headers=token)
        assert [d["agentId"] for d in await deliveries.get_json()] == ["a2"]
    outsider = bearer(mint(["message:read"], {"agents": ["a3"]}))
    assert await error_of(await client.get(f"/api/messages/{message_id}", headers=outsider)) == (
        403,
        "forbidden",
    )
    assert (
        await client.get(f"/api/messages/{message_id}/deliveries", headers=outsider)
    ).status_code == 403
    assert await error_of(await client.get("/api/messages/msg_nope", headers=H)) == (
        404,
        "message not found",
    )


async def test_conversations_of_an_agent(client: Any, mint: Any) -> None:
    for agent_id in ("a1", "a2", "a3"):
        await agent(client, agent_id)
    await send(client, to="a2", body="hi", **{"from": "a1"})
    await send(client, to="a3", body="hi", **{"from": "a1"})
    listing = await (await client.get("/api/conversations?agentId=a1", headers=H)).get_json()
    assert len(listing) == 2
    assert all(c["kind"] == "direct" for c in listing)
    a2 = await (await client.get("/api/conversations?agentId=a2", headers=H)).get_json()
    assert [sorted(c["participants"]) for c in a2] == [["a1", "a2"]]
    token = bearer(mint(["message:read"], {"agents": ["a3"]}))
    assert (await client.get("/api/conversations?agentId=a1", headers=token)).status_code == 403
    conversation = direct_conversation_id("a1", "a2")
    assert (
        await client.get(f"/api/conversations/{conversation}/messages", headers=token)
    ).status_code == 403
    assert await error_of(await client.get("/api/conversations?agentId=zz", headers=H)) == (
        404,
        "agent not found",
    )
    assert await error_of(await client.get("/api/conversations/cnv_x/messages", headers=H)) == (
        404,
        "conversation not found",
    )
    bad = await client.get(f"/api/conversations/{conversation}/messages?limit=501", headers=H)
    assert await error_of(bad) == (400, "limit must be between 1 and 500")
    after = await client.get(f"/api/conversations/{conversation}/messages?afterSeq=1", headers=H)
    assert (await after.get_json())["messages"] == []


@pytest.mark.parametrize("field", ["body"])
async def test_events_never_carry_a_body(client: Any, services: Any, field: str) -> None:
    from relay.store import stream as stream_store

    await agent(client, "a1")
    await agent(client, "a2")
    await send(client, to="a2", body="secret", **{"from": "a1"})
    rows = await services.runtime.store.run(lambda: stream_store.after(0, limit=500))
    events = {row.event: row for row in rows if row.event in ("message", "delivery")}
    assert set(events) == {"message", "delivery"}
    assert field not in events["message"].data["message"]
    assert events["message"].agent_id == "a1"
    assert events["delivery"].agent_id == "a2"
    assert events["delivery"].data["change"] == "queued"


async def test_concurrent_repeats_into_two_conversations_make_one_message(client: Any) -> None:
    for agent_id in ("a1", "a2", "a3"):
        await agent(client, agent_id)
    statuses: list[int] = []

    async def one(to: str) -> None:
        response = await send(client, to=to, body="x", clientMessageId="k", **{"from": "a1"})
        statuses.append(response.status_code)

    async with trio.open_nursery() as nursery:
        for to in ("a2", "a3") * 5:
            nursery.start_soon(one, to)
    assert sorted(set(statuses)) in ([200, 201, 409], [201, 409])
    assert statuses.count(201) == 1


async def test_an_over_long_agent_filter_is_a_400(client: Any) -> None:
    response = await client.get("/api/conversations?agentId=" + "0" * 201, headers=H)
    assert await error_of(response) == (400, "agentId must be at most 200 characters")


async def test_a_failed_accept_leaves_no_gap_in_seq(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay.errors import Unavailable
    from relay.store import messages as message_store

    await agent(client, "a1")
    await agent(client, "a2")
    real = message_store.accept

    async def failing(message: Any, conversation: Any, *, created: bool) -> None:
        if message.body == "boom":
            raise Unavailable("store unavailable")
        await real(message, conversation, created=created)

    monkeypatch.setattr(message_store, "accept", failing)
    seqs: list[int] = []

    async def one(body: str) -> None:
        response = await send(client, to="a2", body=body, **{"from": "a1"})
        if body != "boom":
            assert response.status_code == 201, await response.get_data()
            seqs.append((await response.get_json())["message"]["seq"])

    async with trio.open_nursery() as nursery:
        for body in ("m0", "boom", "m1", "m2", "boom", "m3", "m4"):
            nursery.start_soon(one, body)
    assert sorted(seqs) == [1, 2, 3, 4, 5]


async def test_registering_an_agent_named_like_a_senders_sub_reads_nothing(
    client: Any, mint: Any
) -> None:
    """A sender that was no agent when it sent stays its token's sub: registering an agent
    with that id later does not make the registering token the message's sender side."""
    from tests.http.helpers import register_orchestrator

    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    w1 = {"id": "w1", "name": "w1", "orchestratorId": "o1"}
    assert (await client.post("/api/agents", json=w1, headers=H)).status_code in (200, 201)
    scopes = ["message:read", "message:write", "agent:read", "agent:write"]
    o1 = bearer(mint(scopes, {"orchestrators": ["o1"]}, sub="o1", role="orchestrator"))
    o2 = bearer(mint(scopes, {"orchestrators": ["o2"]}, sub="o2", role="orchestrator"))
    sent = await client.post("/api/messages", json={"to": "w1", "body": "o1 only"}, headers=o1)
    assert sent.status_code == 201, await sent.get_data()
    message = (await sent.get_json())["message"]
    assert message["from"] == "o1"
    url = f"/api/messages/{message['id']}"
    assert (await client.get(url, headers=o1)).status_code == 200
    squat = {"id": "o1", "name": "squat", "orchestratorId": "o2"}
    registered = await client.post("/api/agents", json=squat, headers=o2)
    assert registered.status_code in (200, 201), await registered.get_data()
    for path in (url, url + "/deliveries"):
        refused = await client.get(path, headers=o2)
        assert refused.status_code == 403, await refused.get_data()
    assert (await client.get(url, headers=o1)).status_code == 200
