"""A send's message and its deliveries share a group commit (issue 19's throughput), and the
promises hold: gap-free seq in acceptance order, one message per repeated clientMessageId,
no delivery of a message that did not commit."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import trio

from relay.actors.runtime.aggregate import AggregateActor
from relay.domain.messages import direct_conversation_id
from relay.store import messages as message_store
from relay.store import models
from tests.http.helpers import H
from tests.http.test_messages import agent, send

BOUND_S = 10.0


async def test_a_delivery_is_queued_before_its_message_commits(
    client: Any, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    # Both actors live and loaded: the gated send below reads nothing behind the writer.
    assert (await send(client, to="a2", body="warm", **{"from": "a1"})).status_code == 201
    store = services.runtime.store
    token = trio.lowlevel.current_trio_token()
    release = threading.Event()
    gate_taken = threading.Event()
    real_run = store._group_commit._run_in_transaction

    async def gated(jobs: list[Any]) -> list[Any]:
        # The writer's next batch waits here, outside any transaction (reads go on),
        # until the test has seen what the send queued meanwhile.
        if not gate_taken.is_set():
            gate_taken.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, BOUND_S)
        results: list[Any] = await real_run(jobs)
        return results

    monkeypatch.setattr(store._group_commit, "_run_in_transaction", gated)
    queued: dict[str, Any] = {}  # actor kind -> its write
    both_queued = trio.Event()
    real_write = AggregateActor.write

    def recording(actor: AggregateActor, job: Any, **kwargs: Any) -> Any:
        future = real_write(actor, job, **kwargs)
        queued[actor.kind] = future
        if {"conversation", "inbox"} <= set(queued):
            token.run_sync_soon(both_queued.set)
        return future

    monkeypatch.setattr(AggregateActor, "write", recording)
    replies: list[Any] = []

    async def one() -> None:
        replies.append(await send(client, to="a2", body="grouped", **{"from": "a1"}))

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(one)
            # The message's write is held by the gate; the delivery's is queued behind it
            # before it commits (before, the send waited for that commit to queue it).
            with trio.fail_after(BOUND_S):
                await both_queued.wait()
            assert not queued["conversation"].done()
            release.set()
    finally:
        release.set()
    [reply] = replies
    assert reply.status_code == 201
    body = await reply.get_json()
    assert body["message"]["seq"] == 2
    assert [d["agentId"] for d in body["deliveries"]] == ["a2"]


async def test_concurrent_sends_and_repeats_keep_seq_and_idempotency(client: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    replies: list[tuple[str, int, dict[str, Any]]] = []

    async def one(key: str) -> None:
        response = await send(client, to="a2", body=key, clientMessageId=key, **{"from": "a1"})
        replies.append((key, response.status_code, await response.get_json()))

    async with trio.open_nursery() as nursery:
        for i in range(30):
            for _ in range(2):  # every send twice, concurrently
                nursery.start_soon(one, f"k{i}")
    by_key: dict[str, set[str]] = {}
    for key, status, body in replies:
        assert status in (200, 201), body
        by_key.setdefault(key, set()).add(body["message"]["id"])
    assert all(len(ids) == 1 for ids in by_key.values())
    assert sorted(status for _, status, _ in replies) == [200] * 30 + [201] * 30
    conversation = direct_conversation_id("a1", "a2")
    page = await (
        await client.get(f"/api/conversations/{conversation}/messages?limit=500", headers=H)
    ).get_json()
    messages = page["messages"]
    assert [m["seq"] for m in messages] == list(range(1, 31))
    # Acceptance order: seq follows the order the conversation took them in.
    assert [m["createdAt"] for m in messages] == sorted(m["createdAt"] for m in messages)
    inbox = await (await client.get("/api/agents/a2/inbox?peek=true", headers=H)).get_json()
    assert sorted(i["message"]["id"] for i in inbox["items"]) == sorted(m["id"] for m in messages)


async def test_a_message_that_does_not_commit_leaves_no_delivery(
    client: Any, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay.errors import Unavailable

    await agent(client, "a1")
    await agent(client, "a2")
    real = message_store.accept

    async def failing(message: Any, conversation: Any, *, created: bool) -> None:
        if message.body == "boom":
            raise Unavailable("store unavailable")
        await real(message, conversation, created=created)

    monkeypatch.setattr(message_store, "accept", failing)
    statuses: dict[str, list[int]] = {"boom": [], "ok": []}

    async def one(body: str) -> None:
        response = await send(client, to="a2", body=body, **{"from": "a1"})
        statuses[body].append(response.status_code)

    async with trio.open_nursery() as nursery:
        for body in ("ok", "boom", "ok", "ok", "boom", "ok", "boom", "ok"):
            nursery.start_soon(one, body)
    assert statuses == {"boom": [503] * 3, "ok": [201] * 5}
    inbox = await (await client.get("/api/agents/a2/inbox?peek=true", headers=H)).get_json()
    assert len(inbox["items"]) == 5
    # Nothing stored points at a message that is not there, and a fetch hands out the five.
    stored = await services.runtime.store.run(
        lambda: models.Delivery.filter(agent_id="a2").values_list("message_id", flat=True)
    )
    found = await services.runtime.store.run(lambda: message_store.messages_by_id(stored))
    assert len(stored) == 5
    assert set(found) == set(stored)
    fetched = await (await client.get("/api/agents/a2/inbox?limit=100", headers=H)).get_json()
    assert len(fetched["items"]) == 5
