"""Posting to channels end to end (messaging.md "Messages", "Channels", "Waking an agent"):
routing through real sends and inbox fetches, the send's refusals, promise 4, and the
``agent.wake`` a first delivery queues."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from relay.actors import channels
from relay.clock import ManualClock
from relay.errors import Unavailable
from relay.http.services import Services
from relay.settings import Settings
from tests.conftest import bearer, root_headers
from tests.http.helpers import patch_command, poll, register_orchestrator
from tests.http.test_agent_actions import CLAUDE_META

H = root_headers()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Agents stay online however the manual clock moves, and expiries wait for the inbox
    # (the jobs would apply them first).
    return settings.model_copy(
        update={
            "job_agent_reaper_seconds": 3600,
            "job_inbox_lease_expiry_seconds": 3600,
            "job_message_expiry_seconds": 3600,
        }
    )


async def json_of(response: Any) -> Any:
    return await response.get_json()


async def register(client: Any, agent_id: str, **fields: Any) -> None:
    response = await client.post("/api/agents", json={"id": agent_id, **fields}, headers=H)
    assert response.status_code in (200, 201), await response.get_data()


async def channel(client: Any, channel_id: str = "ops", *bindings: dict[str, Any]) -> None:
    response = await client.post("/api/channels", json={"id": channel_id}, headers=H)
    assert response.status_code == 201, await response.get_data()
    for binding in bindings:
        body = {"mode": "broadcast", "targetType": "tag", "target": "w", **binding}
        added = await client.post(f"/api/channels/{channel_id}/bindings", json=body, headers=H)
        assert added.status_code == 201, await added.get_data()


async def post(client: Any, headers: dict[str, str] = H, /, **body: Any) -> Any:
    return await client.post("/api/messages", json={"body": "hi", **body}, headers=headers)


async def sent(client: Any, headers: dict[str, str] = H, /, **body: Any) -> dict[str, Any]:
    response = await post(client, headers, **body)
    assert response.status_code == 201, await response.get_data()
    reply: dict[str, Any] = await json_of(response)
    return reply


async def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, (await json_of(response))["error"]


async def fetch(client: Any, agent_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/agents/{agent_id}/inbox", headers=H)
    assert response.status_code == 200, await response.get_data()
    items: list[dict[str, Any]] = (await json_of(response))["items"]
    return items


async def route(client: Any, channel_id: str = "ops", sender: str | None = None) -> list[str]:
    query = f"?from={sender}" if sender is not None else ""
    response = await client.get(f"/api/channels/{channel_id}/route{query}", headers=H)
    assert response.status_code == 200, await response.get_data()
    return [t["agentId"] for t in (await json_of(response))["targets"]]


def recipients(reply: dict[str, Any]) -> list[str]:
    return sorted(d["agentId"] for d in reply["deliveries"])


async def wakes(client: Any, agent_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/commands?type=agent.wake&agentId={agent_id}", headers=H)
    assert response.status_code == 200, await response.get_data()
    listed: list[dict[str, Any]] = await json_of(response)
    return listed


# -- routing through real sends ------------------------------------------------------------


async def test_broadcast_reaches_every_matching_agent(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await register(client, "other", tags=["x"])
    await channel(client, "ops", {"mode": "broadcast"})
    reply = await sent(client, channelId="ops", body="all hands")
    message = reply["message"]
    assert message["channelId"] == "ops"
    assert message["to"] is None
    assert recipients(reply) == ["w1", "w2"]
    binding = (await json_of(await client.get("/api/channels/ops", headers=H)))["bindings"][0]
    for delivery in reply["deliveries"]:
        assert delivery["matchedBy"] == {
            "bindingId": binding["id"],
            "targetType": "tag",
            "target": "w",
        }
    conversation_id = (await json_of(await client.get("/api/channels/ops", headers=H)))[
        "conversationId"
    ]
    assert message["conversationId"] == conversation_id
    for agent_id in ("w1", "w2"):
        [item] = await fetch(client, agent_id)
        assert (item["message"]["id"], item["message"]["body"]) == (message["id"], "all hands")
    assert await fetch(client, "other") == []


async def test_exclusive_reaches_one_agent_and_rotates(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    first = await sent(client, channelId="ops", body="one")
    assert recipients(first) == ["w1"]  # equal loads, never chosen: the smallest id
    # w1 now holds one queued delivery: the least loaded is w2.
    second = await sent(client, channelId="ops", body="two")
    assert recipients(second) == ["w2"]
    assert [i["message"]["body"] for i in await fetch(client, "w1")] == ["one"]
    assert [i["message"]["body"] for i in await fetch(client, "w2")] == ["two"]
    # Both inboxes empty again (fetched, no ack required): w1 was chosen least recently.
    third = await sent(client, channelId="ops", body="three")
    assert recipients(third) == ["w1"]
    fourth = await sent(client, channelId="ops", body="four")
    assert recipients(fourth) == ["w2"]


async def test_exclusive_picks_the_least_loaded_inbox(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    for _ in range(2):
        await sent(client, to="w2", body="direct")
    assert await route(client) == ["w1"]
    await sent(client, to="w1", body="direct")
    await sent(client, to="w1", body="direct")
    await sent(client, to="w1", body="direct")
    assert await route(client) == ["w2"]  # 3 queued against 2
    assert recipients(await sent(client, channelId="ops")) == ["w2"]


async def test_leased_deliveries_count_toward_the_load(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    await sent(client, to="w1", body="needs an ack", ackRequired=True)
    assert len(await fetch(client, "w1")) == 1  # now leased, not queued
    assert await route(client) == ["w2"]


async def test_expiries_not_yet_applied_count_as_applied(client: Any, clock: ManualClock) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    # w1: a lease past its expiry with an attempt left is queued again: it still counts.
    await sent(client, to="w1", ackRequired=True, maxAttempts=2)
    leased = await client.get("/api/agents/w1/inbox?lease=5", headers=H)
    assert len((await json_of(leased))["items"]) == 1
    clock.advance(6)
    assert await route(client) == ["w2"]
    # Leased again on its last attempt, then past the lease: dead-lettered, it counts no more.
    assert (
        len((await json_of(await client.get("/api/agents/w1/inbox?lease=5", headers=H)))["items"])
        == 1
    )
    clock.advance(6)
    assert await route(client) == ["w1"]
    # w1: a message past its expiresAt counts no more either.
    await sent(client, to="w1", ttlSeconds=60)
    assert await route(client) == ["w2"]
    clock.advance(61)
    assert await route(client) == ["w1"]


async def test_the_send_routes_as_the_dry_run_did(client: Any) -> None:
    """Promise 4: route, then send, with nothing changed between: the same targets."""
    await register(client, "w1", tags=["w"], meta={"label": "db"})
    await register(client, "w2", tags=["w"])
    await register(client, "w3", tags=["w"])
    await register(client, "b1", tags=["b"])
    await channel(
        client,
        "ops",
        {"mode": "exclusive"},
        {"mode": "exclusive", "targetType": "label", "target": "db"},
        {"mode": "broadcast", "target": "b"},
    )
    await sent(client, to="w2", body="load")
    for sender in (None, "w1", "b1", "w3"):
        predicted = await route(client, sender=sender)
        extra = {"from": sender} if sender is not None else {}
        reply = await sent(client, channelId="ops", **extra)
        assert recipients(reply) == predicted, sender
        for agent_id in predicted:
            await fetch(client, agent_id)  # empty the inboxes again


async def test_the_dry_run_records_nothing(client: Any, services: Services) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    for _ in range(3):
        assert await route(client) == ["w1"]
    state = await channels.get_channel(services.runtime, "ops")
    assert state.last_chosen == {}
    await sent(client, channelId="ops")
    state = await channels.get_channel(services.runtime, "ops")
    assert list(state.last_chosen) == ["w1"]


async def test_a_reply_to_a_channel_message_goes_to_the_channel(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "broadcast"})
    parent = (await sent(client, channelId="ops", body="question"))["message"]
    reply = await sent(client, replyTo=parent["id"], body="answer", **{"from": "w1"})
    message = reply["message"]
    assert (message["channelId"], message["threadId"], message["seq"]) == ("ops", parent["id"], 2)
    assert message["conversationId"] == parent["conversationId"]
    assert recipients(reply) == ["w2"]  # the sender is never a target


async def test_channel_summary_carries_last_message_at(client: Any, clock: ManualClock) -> None:
    await register(client, "w1", tags=["w"])
    await channel(client, "ops", {"mode": "broadcast"})
    await channel(client, "quiet")
    clock.advance(5)
    message = (await sent(client, channelId="ops"))["message"]
    listed = await json_of(await client.get("/api/channels", headers=H))
    assert [(c["id"], c["lastMessageAt"]) for c in listed] == [
        ("ops", message["createdAt"]),
        ("quiet", None),
    ]


async def test_a_repeated_channel_send_answers_the_original(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    first = await sent(client, channelId="ops", clientMessageId="c-1")
    again = await post(client, channelId="ops", clientMessageId="c-1")
    assert again.status_code == 200
    repeat = await json_of(again)
    # The pick has rotated to w2 since, but the repeat queues nothing new.
    assert repeat["message"]["id"] == first["message"]["id"]
    assert recipients(repeat) == ["w1"]
    assert await fetch(client, "w2") == []
    changed = await post(client, channelId="ops", clientMessageId="c-1", body="other")
    assert await error_of(changed) == (409, "clientMessageId already used for a different message")


async def test_a_repeat_answers_even_when_nobody_matches_any_more(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await channel(client, "ops", {"mode": "broadcast"})
    first = await sent(client, channelId="ops", clientMessageId="c-1")
    state = await json_of(await client.get("/api/channels/ops", headers=H))
    binding_id = state["bindings"][0]["id"]
    removed = await client.delete(f"/api/channels/ops/bindings/{binding_id}", headers=H)
    assert removed.status_code == 200
    again = await post(client, channelId="ops", clientMessageId="c-1")
    assert again.status_code == 200
    assert (await json_of(again))["message"]["id"] == first["message"]["id"]


# -- refusals ------------------------------------------------------------------------------


async def test_send_to_channel_errors(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "poster", tags=["p"])
    await register(client, "mute", tags=["m"])
    await channel(
        client,
        "ops",
        {"mode": "broadcast", "direction": "inbound"},
        {"mode": "broadcast", "target": "p", "direction": "outbound"},
    )
    await channel(client, "empty", {"mode": "broadcast", "target": "nobody"})
    await channel(client, "bare")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"channelId": "nope"}, 404, "channel not found"),
        ({"channelId": "ops", "from": "mute"}, 403, "agent mute may not post to channel ops"),
        # An inbound-only binding routes to w1 but does not let it post.
        ({"channelId": "ops", "from": "w1"}, 403, "agent w1 may not post to channel ops"),
        ({"channelId": "empty"}, 409, "no agent matches channel empty"),
        ({"channelId": "bare"}, 409, "no agent matches channel bare"),
    ]
    for body, status, error in cases:
        assert await error_of(await post(client, **body)) == (status, error), body
    # Nothing was queued or accepted by the refusals.
    assert await fetch(client, "w1") == []
    ops = await json_of(await client.get("/api/channels", headers=H))
    assert {c["id"]: c["lastMessageAt"] for c in ops} == {"bare": None, "empty": None, "ops": None}
    # The outbound binding lets its agent post; it routes to the inbound one.
    assert recipients(await sent(client, channelId="ops", **{"from": "poster"})) == ["w1"]


async def test_a_sender_alone_on_the_channel_matches_nobody(client: Any) -> None:
    await register(client, "w1", tags=["w"])
    await channel(client, "ops", {"mode": "broadcast"})
    refused = await post(client, channelId="ops", **{"from": "w1"})
    assert await error_of(refused) == (409, "no agent matches channel ops")


async def test_too_many_recipients_is_409(client: Any, services: Services) -> None:
    services.runtime.settings = services.runtime.settings.model_copy(
        update={"channel_max_recipients": 2}
    )
    for agent_id in ("w1", "w2", "w3"):
        await register(client, agent_id, tags=["w"])
    await channel(client, "ops", {"mode": "broadcast"})
    refused = await post(client, channelId="ops")
    assert await error_of(refused) == (409, "channel ops matches more than 2 agents")
    assert await fetch(client, "w1") == []
    # The sender is never a target: from w1, two remain, within the limit.
    assert recipients(await sent(client, channelId="ops", **{"from": "w1"})) == ["w2", "w3"]


async def test_constrained_tokens(client: Any, mint: Any) -> None:
    await register(client, "w1", tags=["w"])
    await register(client, "w2", tags=["w"])
    await register(client, "outsider", tags=["x"])
    await channel(client, "ops", {"mode": "broadcast"})
    own = bearer(mint(["message:write", "message:read"], {"agents": ["w1"]}))
    # The caller's one agent is the sender: it may post, and is no target of its post.
    reply = await sent(client, own, channelId="ops")
    assert reply["message"]["from"] == "w1"
    assert recipients(reply) == ["w2"]
    outsider = bearer(mint(["message:write"], {"agents": ["outsider"]}))
    refused = await post(client, outsider, channelId="ops")
    assert await error_of(refused) == (403, "agent outsider may not post to channel ops")
    # Naming another agent as the sender needs acting for it.
    as_other = await post(client, own, channelId="ops", **{"from": "w2"})
    assert await error_of(as_other) == (403, "forbidden")
    unscoped = bearer(mint(["message:read"], {"agents": ["w1"]}))
    assert (await post(client, unscoped, channelId="ops")).status_code == 403
    # A token bound to an agent not registered yet posts as that agent too: no outbound
    # binding matches it, so it may not post (as a non-agent sender, it could anywhere)...
    ghost = bearer(mint(["message:write"], {"agents": ["ghost"]}))
    refused = await post(client, ghost, channelId="ops")
    assert await error_of(refused) == (403, "agent ghost may not post to channel ops")
    # ... until a binding names its id.
    body = {"mode": "broadcast", "targetType": "agent", "target": "ghost", "direction": "outbound"}
    added = await client.post("/api/channels/ops/bindings", json=body, headers=H)
    assert added.status_code == 201
    assert recipients(await sent(client, ghost, channelId="ops")) == ["w1", "w2"]


# -- waking an agent -----------------------------------------------------------------------


async def managed_agent(client: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await register(client, "a1", orchestratorId="o1", tags=["w"], meta=CLAUDE_META)


async def test_two_quick_messages_queue_one_wake(client: Any) -> None:
    await managed_agent(client)
    await register(client, "b1")
    first = (await sent(client, to="a1", body="one", importance="high", **{"from": "b1"}))[
        "message"
    ]
    await sent(client, to="a1", body="two", **{"from": "b1"})
    [wake] = await wakes(client, "a1")
    assert (wake["type"], wake["target"], wake["status"]) == ("agent.wake", "o1", "queued")
    assert wake["params"] == {
        "agentId": "a1",
        "sessionName": CLAUDE_META["sessionName"],
        "reason": "message",
        "messageId": first["id"],
        "from": "b1",
        "importance": "high",
    }


async def test_a_channel_post_wakes_its_recipient(client: Any) -> None:
    await managed_agent(client)
    await channel(client, "ops", {"mode": "broadcast"})
    message = (await sent(client, channelId="ops"))["message"]
    [wake] = await wakes(client, "a1")
    assert wake["params"]["messageId"] == message["id"]
    assert wake["params"]["from"] == "root"


async def test_no_wake_when_the_inbox_already_held_one(client: Any) -> None:
    await managed_agent(client)
    await sent(client, to="a1", body="one")
    [first] = await wakes(client, "a1")
    await poll(client, "o1")
    for status in ("running", "succeeded"):
        assert (await patch_command(client, first["id"], status)).status_code == 200
    # The wake has settled, but the inbox still holds "one": no second wake.
    await sent(client, to="a1", body="two")
    assert [w["id"] for w in await wakes(client, "a1")] == [first["id"]]
    # Emptied, the next message wakes it again.
    assert len(await fetch(client, "a1")) == 2
    third = (await sent(client, to="a1", body="three"))["message"]
    listed = await wakes(client, "a1")
    assert len(listed) == 2
    assert {w["params"]["messageId"] for w in listed if w["id"] != first["id"]} == {third["id"]}


async def test_a_wake_that_cannot_be_queued_never_fails_the_send(
    client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await managed_agent(client)

    async def unavailable(*_args: Any, **_kwargs: Any) -> None:
        raise Unavailable("store is not answering")

    monkeypatch.setattr("relay.actors.messaging.flows.wake_agent", unavailable)
    with caplog.at_level(logging.WARNING, logger="relay.actors.messaging"):
        reply = await sent(client, to="a1")
    assert recipients(reply) == ["a1"]
    assert "agent_wake_unavailable agent=a1" in caplog.text
    assert len(await fetch(client, "a1")) == 1


async def test_a_repeated_or_refused_send_leaves_the_exclusive_rotation(client: Any) -> None:
    """A repeat of (sender, clientMessageId), or one refused 409 for a different body,
    answers from the stored message and commits no pick: the next new send rotates on."""
    for agent_id in ("w1", "w2"):
        await register(client, agent_id, tags=["w"])
    await channel(client, "ops", {"mode": "exclusive"})
    first = recipients(await sent(client, channelId="ops", clientMessageId="job-1"))
    after_first = await route(client)
    assert after_first != first
    again = await post(client, channelId="ops", clientMessageId="job-1")
    assert again.status_code == 200, await again.get_data()
    assert recipients(await json_of(again)) == first
    assert await route(client) == after_first
    refused = await post(client, channelId="ops", clientMessageId="job-1", body="different")
    assert refused.status_code == 409, await refused.get_data()
    assert await route(client) == after_first
    assert recipients(await sent(client, channelId="ops", body="job 2")) == after_first
