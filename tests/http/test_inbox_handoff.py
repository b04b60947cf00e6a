"""A fetch already waiting when a delivery is queued is handed it, leased, by the Enqueue
itself (``Fetch.waiter``, ``Runtime.handoffs``): the lease is durable before the fetch
returns it, a cancelled fetch withdraws its offer, an offer taken by a fetch that went away
is a lease like any other, and inbox order still holds."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
import trio

from relay.actors import inbox
from relay.clock import ManualClock
from relay.errors import Conflict
from relay.http.services import Services
from relay.store import messages as message_store
from tests.conftest import root_headers, services_of
from tests.http.test_inbox import ack, fetch, queue, setup_pair
from tests.http.test_inbox_fetch_ack import deliveries

KEY = "inbox:a2"


async def offered(services: Services, count: int = 1) -> None:
    """Until ``count`` fetches wait on a2's inbox with their offer standing (bounded)."""
    with trio.fail_after(10):
        while services.runtime.handoffs.waiting(KEY) != count:  # noqa: ASYNC110
            await trio.sleep(0.01)


async def poll_while(client: Any, services: Services, query: str, send: Any) -> dict[str, Any]:
    """A long-poll of a2's inbox that waits with its offer standing while ``send()`` runs."""
    got: list[dict[str, Any]] = []

    async def poller() -> None:
        got.append(await (await fetch(client, query)).get_json())

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(poller)
            await offered(services)
            await send()
    return got[0]


async def test_a_waiting_fetch_is_handed_the_delivery_leased(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await setup_pair(client)
    sent: list[dict[str, Any]] = []

    async def send() -> None:
        sent.append(await queue(client, "m", ackRequired=True))

    got = await poll_while(client, services, "?wait=30&lease=30", send)
    [item] = got["items"]
    assert (item["message"]["body"], item["attempt"]) == ("m", 1)
    assert got["leaseExpiresAt"] == clock.now_ms() + 30_000
    assert services.runtime.handoffs.waiting(KEY) == 0
    # The send answers with the delivery as it queued it; the store holds it leased to
    # the fetch, and only that fetch's lease acks it.
    assert [d["state"] for d in sent[0]["deliveries"]] == ["queued"]
    [stored] = await deliveries(client, sent[0]["message"]["id"])
    assert (stored["state"], stored["leaseId"]) == ("leased", got["leaseId"])
    assert (await (await fetch(client)).get_json())["items"] == []
    acked = await ack(client, leaseId=got["leaseId"])
    assert (await acked.get_json())["acked"] == [item["deliveryId"]]


async def test_a_handed_off_delivery_without_ack_is_acked(client: Any, services: Services) -> None:
    await setup_pair(client)
    sent: list[dict[str, Any]] = []

    async def send() -> None:
        sent.append(await queue(client, "m"))

    got = await poll_while(client, services, "?wait=30", send)
    assert [i["message"]["body"] for i in got["items"]] == ["m"]
    [stored] = await deliveries(client, sent[0]["message"]["id"])
    assert (stored["state"], stored["leaseId"]) == ("acked", got["leaseId"])
    assert (await (await fetch(client, "?peek=true")).get_json())["items"] == []


async def test_a_quiet_inbox_offers_from_the_flow(client: Any, services: Services) -> None:
    """A fetch answered without an actor (quiet inbox) offers all the same: the delivery
    that starts the actor is handed to it."""
    rt = services.runtime
    await setup_pair(client)
    await queue(client, "m0")
    assert len((await (await fetch(client)).get_json())["items"]) == 1
    rt.registry.passivate_idle(0)
    with trio.fail_after(10):
        while not rt.registry.is_quiet(inbox.KIND, "a2"):  # noqa: ASYNC110
            await trio.sleep(0.01)

    async def send() -> None:
        assert not rt.registry.is_live(inbox.KIND, "a2")  # the offer came from the flow
        await queue(client, "m1", ackRequired=True)

    got = await poll_while(client, services, "?wait=30", send)
    assert [(i["message"]["body"], i["attempt"]) for i in got["items"]] == [("m1", 1)]


async def test_a_cancelled_fetch_withdraws_its_offer(client: Any, services: Services) -> None:
    await setup_pair(client)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fetch, client, "?wait=30")
            await offered(services)
            nursery.cancel_scope.cancel()  # the client went away
    assert services.runtime.handoffs.waiting(KEY) == 0
    await queue(client, "m", ackRequired=True)
    peek = await (await fetch(client, "?peek=true")).get_json()
    assert [(i["state"], i["attempt"]) for i in peek["items"]] == [("queued", 0)]
    got = await (await fetch(client)).get_json()
    assert [(i["message"]["body"], i["attempt"]) for i in got["items"]] == [("m", 1)]


async def test_an_offer_taken_by_a_fetch_gone_since_is_a_lease_like_any(
    client: Any, services: Services, clock: ManualClock
) -> None:
    """The fetch whose offer an Enqueue took never returned it (cancelled between the two):
    the delivery is leased, not lost: it runs out and is handed out again."""
    await setup_pair(client)
    waiter = inbox.FetchWaiter(5_000)
    services.runtime.handoffs.offer(KEY, waiter)  # as a fetch about to wait does
    sent = await queue(client, "m", ackRequired=True)
    taken = waiter.result.result(timeout=0).handed
    assert [d.attempt for d in taken.deliveries] == [1]
    # Never under two live leases: nothing to hand out while that lease runs.
    assert (await (await fetch(client)).get_json())["items"] == []
    clock.advance(6)
    again = await (await fetch(client)).get_json()
    assert [(i["message"]["id"], i["attempt"]) for i in again["items"]] == [
        (sent["message"]["id"], 2)
    ]
    assert again["leaseId"] != taken.lease_id
    refused = await ack(client, leaseId=taken.lease_id)
    assert refused.status_code == 409


async def test_a_delivery_requeued_ahead_is_handed_out_first(
    client: Any, services: Services, clock: ManualClock
) -> None:
    """Inbox order: a delivery queued ahead (here one whose lease ran out, not yet applied)
    keeps its place; the new one is not handed off past it."""
    await setup_pair(client)
    await queue(client, "m0", ackRequired=True)
    assert len((await (await fetch(client, "?lease=5")).get_json())["items"]) == 1

    async def send() -> None:
        clock.advance(6)  # m0's lease ran out while the poll waited
        await queue(client, "m1", ackRequired=True)

    got = await poll_while(client, services, "?wait=30", send)
    assert [(i["message"]["body"], i["attempt"]) for i in got["items"]] == [
        ("m0", 2),
        ("m1", 1),
    ]


async def test_a_lease_handed_at_enqueue_survives_a_restart(
    open_app: Any, clock: ManualClock
) -> None:
    """Returned means committed: after a restart the delivery is still leased under the
    fetch's lease (handed to nobody else), and that lease acks it."""
    headers = root_headers()
    async with open_app() as app:
        client = app.test_client()
        await setup_pair(client)

        async def send() -> None:
            await queue(client, "m", ackRequired=True)

        got = await poll_while(client, services_of(app), "?wait=30&lease=60", send)
    [item] = got["items"]

    async with open_app() as app:
        client = app.test_client()
        peek = await (await fetch(client, "?peek=true", headers)).get_json()
        assert [(i["deliveryId"], i["state"]) for i in peek["items"]] == [
            (item["deliveryId"], "leased")
        ]
        assert (await (await fetch(client)).get_json())["items"] == []
        acked = await ack(client, leaseId=got["leaseId"])
        assert (await acked.get_json())["acked"] == [item["deliveryId"]]


async def test_a_refused_send_leaves_a_waiting_fetch_waiting(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The send whose Enqueue took the offer is refused at its write (a clientMessageId
    taken by another conversation's send, say): nothing was leased, so the fetch waits on
    and answers 200 with nothing, not the send's failure as its own 503."""
    await setup_pair(client)
    real = message_store.accept

    async def refusing(message: Any, conversation: Any, *, created: bool) -> None:
        if message.body == "refused":
            raise Conflict("clientMessageId already used for a different message")
        await real(message, conversation, created=created)

    monkeypatch.setattr(message_store, "accept", refusing)
    got: list[Any] = []

    async def poller() -> None:
        got.append(await fetch(client, "?wait=1"))

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(poller)
            await offered(services)
            refused = await send_message(client, "refused")
            assert refused.status_code == 409
    assert got[0].status_code == 200, await got[0].get_data()
    assert (await got[0].get_json())["items"] == []


async def test_a_fetch_handed_a_delivery_returns_when_it_commits_though_the_sender_left(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sender's request goes away after its Enqueue took the offer and before the
    commit, so it never rings: the commit itself wakes the fetch, which returns the
    delivery then, not at the end of its wait."""
    await setup_pair(client)
    inserting, release = threading.Event(), threading.Event()
    real = message_store.insert_delivery

    async def held_insert(delivery: Any) -> None:
        inserting.set()
        await asyncio.to_thread(release.wait, 30)  # the commit, held until the test says
        await real(delivery)

    monkeypatch.setattr(message_store, "insert_delivery", held_insert)
    got: list[Any] = []
    returned_at: list[float] = []
    sender_scope = trio.CancelScope()
    sender_gone = trio.Event()

    async def poller() -> None:
        got.append(await fetch(client, "?wait=60&lease=60"))
        returned_at.append(trio.current_time())

    async def sender() -> None:
        try:
            with sender_scope:
                await send_message(client, "m")
        finally:
            sender_gone.set()

    with trio.fail_after(50):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(poller)
            await offered(services)
            nursery.start_soon(sender)
            await trio.to_thread.run_sync(inserting.wait, 10)  # the Enqueue took the offer
            assert services.runtime.handoffs.waiting(KEY) == 0
            sender_scope.cancel()  # its client went away
            await sender_gone.wait()
            released_at = trio.current_time()
            release.set()
    body = await got[0].get_json()
    assert [item["message"]["body"] for item in body["items"]] == ["m"]
    # Without the commit's ring it sleeps until its next recheck, 30 s away.
    assert returned_at[0] - released_at < 10, body


async def send_message(client: Any, text: str) -> Any:
    return await client.post(
        "/api/messages",
        json={"from": "a1", "to": "a2", "body": text, "ackRequired": True},
        headers=root_headers(),
    )
