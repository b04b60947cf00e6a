"""Sends cut short between storing a message and queuing its deliveries (a ``kill -9``, a
store outage): the start-up recovery and the ``message-delivery-repair`` job queue what
the message's stored recipients lack, once, and leave the message and its seq alone."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors import inbox
from relay.actors.conversation import rules as conversation_rules
from relay.actors.messaging.repair import REPAIR_GRACE_MS, REPAIR_LOOKBACK_MS
from relay.actors.runtime.context import Runtime
from relay.clock import ManualClock
from relay.domain.messages import Message, MessageDraft, direct_conversation_id, new_id
from relay.settings import Settings
from relay.store import messages as message_store
from relay.store import models
from tests.conftest import root_headers, services_of
from tests.http.test_channel_messages import managed_agent, wakes

H = root_headers()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The job runs when a test says so; agents stay online however the clock moves.
    return settings.model_copy(
        update={
            "job_message_delivery_repair_seconds": 3600,
            "job_agent_reaper_seconds": 3600,
        }
    )


async def accepted_only(
    rt: Runtime,
    sender: str,
    recipients: tuple[str, ...],
    *,
    body: str = "cut short",
    channel_id: str | None = None,
    conversation_id: str | None = None,
    matched_by: dict[str, dict[str, str]] | None = None,
    ttl_seconds: int = 3600,
) -> Message:
    """What the conversation actor's Accept commits, and nothing after it: the message and
    its conversation's lastSeq, written straight through the store."""
    if conversation_id is None:
        conversation_id = direct_conversation_id(sender, recipients[0])
    message_id = new_id("msg_")
    draft = MessageDraft(
        id=message_id,
        client_message_id=message_id,
        conversation_id=conversation_id,
        kind="channel" if channel_id is not None else "direct",
        sender=sender,
        to=None if channel_id is not None else recipients[0],
        channel_id=channel_id,
        thread_id=message_id,
        reply_to=None,
        ack_required=False,
        importance="normal",
        body=body,
        attachments=(),
        max_attempts=5,
        ttl_seconds=ttl_seconds,
        recipients=recipients,
        participants=(sender, *recipients),
        matched_by=matched_by or {},
    )
    existing = await rt.store.run(lambda: message_store.load_conversation(conversation_id))
    conversation, message = conversation_rules.accepted(existing, draft, rt.clock.now_ms())
    await rt.store.write(
        lambda: message_store.accept(message, conversation, created=existing is None)
    )
    return message


async def register(client: Any, *agent_ids: str, **fields: Any) -> None:
    for agent_id in agent_ids:
        response = await client.post(
            "/api/agents", json={"id": agent_id, "name": agent_id, **fields}, headers=H
        )
        assert response.status_code in (200, 201), await response.get_data()


async def fetched(client: Any, agent_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/agents/{agent_id}/inbox?limit=100", headers=H)
    assert response.status_code == 200, await response.get_data()
    items: list[dict[str, Any]] = (await response.get_json())["items"]
    return items


async def deliveries(client: Any, message_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/messages/{message_id}/deliveries", headers=H)
    assert response.status_code == 200, await response.get_data()
    found: list[dict[str, Any]] = await response.get_json()
    return found


async def run_job(client: Any) -> dict[str, Any]:
    response = await client.post("/api/maintenance/jobs/message-delivery-repair/run", headers=H)
    assert response.status_code == 200, await response.get_data()
    result: dict[str, Any] = (await response.get_json())["result"]
    return result


async def test_a_restart_delivers_a_message_stored_without_its_deliveries(
    open_app: Any,
) -> None:
    async with open_app() as app:
        client = app.test_client()
        await register(client, "a1", "a2")
        first = await client.post(
            "/api/messages", json={"to": "a2", "body": "whole", "from": "a1"}, headers=H
        )
        assert first.status_code == 201
        cut = await accepted_only(services_of(app).runtime, "a1", ("a2",))
        assert await deliveries(client, cut.id) == []  # the crash: nobody would get it
    assert cut.seq == 2

    async with open_app() as app:
        client = app.test_client()
        items = await fetched(client, "a2")
        assert [(i["message"]["body"], i["message"]["seq"]) for i in items] == [
            ("whole", 1),
            ("cut short", 2),
        ]
        assert await fetched(client, "a2") == []  # exactly once
        [delivery] = await deliveries(client, cut.id)
        assert (delivery["agentId"], delivery["seq"], delivery["state"]) == ("a2", 2, "acked")
        response = await client.get(f"/api/messages/{cut.id}", headers=H)
        assert (await response.get_json())["seq"] == 2  # the message is as it was stored
        conversation = direct_conversation_id("a1", "a2")
        response = await client.get(f"/api/conversations/{conversation}/messages", headers=H)
        assert (await response.get_json())["lastSeq"] == 2
        nxt = await client.post(
            "/api/messages", json={"to": "a2", "body": "next", "from": "a1"}, headers=H
        )
        assert (await nxt.get_json())["message"]["seq"] == 3

    async with open_app() as app:  # a second restart finds nothing left to repair
        client = app.test_client()
        assert [i["message"]["body"] for i in await fetched(client, "a2")] == ["next"]
        assert len(await deliveries(client, cut.id)) == 1


async def test_the_repair_keeps_the_channel_match_and_skips_what_it_must(
    open_app: Any, clock: ManualClock
) -> None:
    matched = {"bindingId": "bnd_1", "mode": "broadcast", "targetType": "tag", "target": "w"}
    async with open_app() as app:
        client = app.test_client()
        await register(client, "a1", "a2", "a3")
        rt = services_of(app).runtime
        post = await accepted_only(
            rt,
            "a1",
            ("a2", "a3"),
            body="post",
            channel_id="ops",
            conversation_id="cnv_ops",
            matched_by={"a2": matched, "a3": matched},
        )
        # A recipient deregistered before the restart has no inbox to repair.
        assert (await client.delete("/api/agents/a3", headers=H)).status_code in (200, 204)
        expiring = await accepted_only(rt, "a1", ("a2",), body="expiring", ttl_seconds=60)
        legacy = await accepted_only(rt, "a1", ("a2",), body="stored before 0007")
        await rt.store.write(lambda: models.Message.filter(id=legacy.id).update(recipients=None))
    clock.advance(61)  # "expiring" is past its expiresAt now

    async with open_app() as app:
        client = app.test_client()
        items = await fetched(client, "a2")
        assert [i["message"]["body"] for i in items] == ["post"]
        [delivery] = await deliveries(client, post.id)
        assert (delivery["agentId"], delivery["matchedBy"]) == ("a2", matched)
        assert await deliveries(client, expiring.id) == []
        assert await deliveries(client, legacy.id) == []


async def test_the_job_repairs_after_its_grace_once(
    client: Any, services: Any, clock: ManualClock
) -> None:
    await register(client, "a1", "a2", "a3")
    rt = services.runtime
    cut = await accepted_only(rt, "a1", ("a2",))
    clock.advance(1)  # the repair queues the older first
    # Half done: a3 got its delivery, a2 did not.
    half = await accepted_only(
        rt, "a1", ("a2", "a3"), channel_id="ops", conversation_id="cnv_ops", body="half"
    )
    await inbox.enqueue(rt, "a3", half)
    assert await run_job(client) == {"messages": 0, "deliveries": 0}  # may still be in flight
    clock.advance(REPAIR_GRACE_MS / 1000 - 1)
    assert await run_job(client) == {"messages": 1, "deliveries": 1}  # the older only
    clock.advance(1)
    assert await run_job(client) == {"messages": 1, "deliveries": 1}
    assert await run_job(client) == {"messages": 0, "deliveries": 0}
    assert [i["message"]["id"] for i in await fetched(client, "a2")] == [cut.id, half.id]
    assert [i["message"]["id"] for i in await fetched(client, "a3")] == [half.id]
    assert [d["agentId"] for d in await deliveries(client, half.id)] == ["a2", "a3"]


async def test_the_job_looks_back_an_hour_only(
    client: Any, services: Any, clock: ManualClock
) -> None:
    await register(client, "a1", "a2")
    old = await accepted_only(services.runtime, "a1", ("a2",), ttl_seconds=86_400)
    clock.advance(REPAIR_LOOKBACK_MS / 1000 + 1)
    assert await run_job(client) == {"messages": 0, "deliveries": 0}
    assert await deliveries(client, old.id) == []  # the next start-up repairs it


async def test_a_repeat_of_a_cut_short_channel_post_goes_where_the_original_went(
    client: Any, services: Any
) -> None:
    """The route of now would pick w1; the original picked w2: the repeat (and the repair)
    queue the stored recipient, never a second exclusive pick."""
    await register(client, "a1", "w1", "w2", tags=["w"])
    response = await client.post("/api/channels", json={"id": "ops"}, headers=H)
    conversation_id = (await response.get_json())["conversationId"]
    binding = {"mode": "exclusive", "targetType": "tag", "target": "w"}
    response = await client.post("/api/channels/ops/bindings", json=binding, headers=H)
    assert response.status_code == 201
    matched = {"bindingId": "bnd_x", "mode": "exclusive", "targetType": "tag", "target": "w"}
    cut = await accepted_only(
        services.runtime,
        "a1",
        ("w2",),
        body="once",
        channel_id="ops",
        conversation_id=conversation_id,
        matched_by={"w2": matched},
    )
    repeat = {
        "channelId": "ops",
        "body": "once",
        "from": "a1",
        "clientMessageId": cut.client_message_id,
        "ttlSeconds": 3600,
    }
    for _ in range(2):
        response = await client.post("/api/messages", json=repeat, headers=H)
        assert response.status_code == 200, await response.get_data()
        reply = await response.get_json()
        assert reply["message"]["id"] == cut.id
        assert [(d["agentId"], d["matchedBy"]) for d in reply["deliveries"]] == [("w2", matched)]
    assert await fetched(client, "w1") == []
    assert [i["message"]["id"] for i in await fetched(client, "w2")] == [cut.id]


async def test_a_repaired_first_delivery_wakes_its_agent(
    client: Any, services: Any, clock: ManualClock
) -> None:
    await managed_agent(client)
    await register(client, "b1")
    cut = await accepted_only(services.runtime, "b1", ("a1",))
    clock.advance(REPAIR_GRACE_MS / 1000)
    assert await run_job(client) == {"messages": 1, "deliveries": 1}
    [wake] = await wakes(client, "a1")
    assert (wake["params"]["messageId"], wake["params"]["from"]) == (cut.id, "b1")
