"""``GET …/inbox?ack=<leaseId>``: the previous lease acked in the fetch of the next batch
(README "Inbox: ack in the fetch"), and a quiet inbox answering a fetch without an actor."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.actors import inbox
from relay.clock import ManualClock
from relay.http.services import Services
from relay.store import messages as message_store
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_inbox import ack, fetch, queue, setup_pair
from tests.http.test_messages import error_of


async def deliveries(client: Any, message_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/messages/{message_id}/deliveries", headers=H)
    assert response.status_code == 200, await response.get_data()
    found: list[dict[str, Any]] = await response.get_json()
    return found


async def test_a_fetch_acks_the_previous_lease_and_hands_out_the_next(client: Any) -> None:
    await setup_pair(client)
    first = await queue(client, "m0", ackRequired=True)
    reply = await (await fetch(client, "?lease=30")).get_json()
    assert "acked" not in reply  # only when ack is given
    second = await queue(client, "m1", ackRequired=True)
    both = await (await fetch(client, f"?lease=30&ack={reply['leaseId']}")).get_json()
    assert both["acked"] == [reply["items"][0]["deliveryId"]]
    assert [item["message"]["body"] for item in both["items"]] == ["m1"]
    assert [d["state"] for d in await deliveries(client, first["message"]["id"])] == ["acked"]
    assert [d["state"] for d in await deliveries(client, second["message"]["id"])] == ["leased"]
    # Repeating an ack of an acked lease is the same 200, and an empty inbox says so.
    again = await (await fetch(client, f"?ack={reply['leaseId']}")).get_json()
    assert again == {
        "leaseId": None,
        "leaseExpiresAt": None,
        "items": [],
        "acked": [reply["items"][0]["deliveryId"]],
    }
    # The ack route agrees about the lease acked through a fetch.
    done = await ack(client, leaseId=reply["leaseId"])
    assert (await done.get_json())["acked"] == [reply["items"][0]["deliveryId"]]


async def test_a_refused_ack_fetches_nothing(client: Any, clock: ManualClock) -> None:
    await setup_pair(client)
    await queue(client, "m0", ackRequired=True)
    leased = await (await fetch(client, "?lease=5")).get_json()
    await queue(client, "m1", ackRequired=True)
    unknown = await fetch(client, "?ack=ls_unknown")
    assert await error_of(unknown) == (409, "delivery is not leased by you")
    clock.advance(6)  # the lease ran out: m0 is queued again, and may not be acked
    expired = await fetch(client, f"?ack={leased['leaseId']}")
    assert await error_of(expired) == (409, "delivery is not leased by you")
    # Nothing was handed out by either: both are queued, m0 requeued after one attempt.
    peek = await (await fetch(client, "?peek=true")).get_json()
    assert [(i["message"]["body"], i["state"], i["attempt"]) for i in peek["items"]] == [
        ("m0", "queued", 1),
        ("m1", "queued", 0),
    ]


async def test_ack_with_peek_is_refused(client: Any) -> None:
    await setup_pair(client)
    response = await fetch(client, "?peek=true&ack=ls_x")
    assert await error_of(response) == (400, "ack cannot be combined with peek")
    too_long = await fetch(client, "?ack=" + "x" * 65)
    assert await error_of(too_long) == (400, "ack must be at most 64 characters")
    # An empty ack is a missing lease, not "no ack": refused, and nothing is handed out.
    await queue(client, "m0", ackRequired=True)
    assert await error_of(await fetch(client, "?ack=")) == (400, "ack must be a leaseId")
    peek = await (await fetch(client, "?peek=true")).get_json()
    assert [i["state"] for i in peek["items"]] == ["queued"]


async def test_acking_in_a_fetch_needs_the_ack_routes_scope(client: Any, mint: Any) -> None:
    await setup_pair(client)
    await queue(client, "m0", ackRequired=True)
    own = bearer(mint(["message:read", "message:write"], {"agents": ["a2"]}))
    read_only = bearer(mint(["message:read"], {"agents": ["a2"]}))
    other = bearer(mint(["message:read", "message:write"], {"agents": ["a1"]}))
    leased = await (await fetch(client, headers=own)).get_json()
    refused = await fetch(client, f"?ack={leased['leaseId']}", headers=read_only)
    assert await error_of(refused) == (403, "forbidden")
    foreign = await fetch(client, f"?ack={leased['leaseId']}", headers=other)
    assert await error_of(foreign) == (403, "forbidden")
    ok = await fetch(client, f"?ack={leased['leaseId']}", headers=own)
    assert (await ok.get_json())["acked"] == [leased["items"][0]["deliveryId"]]


async def test_the_ack_commits_before_the_long_poll_waits(client: Any) -> None:
    await setup_pair(client)
    first = await queue(client, "m0", ackRequired=True)
    leased = await (await fetch(client)).get_json()
    got: list[Any] = []

    async def poll() -> None:
        got.append(await (await fetch(client, f"?wait=30&ack={leased['leaseId']}")).get_json())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(poll)
        with trio.fail_after(10):
            # Bounded: the commit is another thread's, no trio event to wait on.
            while [d["state"] for d in await deliveries(client, first["message"]["id"])] != [  # noqa: ASYNC110
                "acked"
            ]:
                await trio.sleep(0.01)
        assert got == []  # still waiting, its ack already stored
        await queue(client, "m1", ackRequired=True)
    assert [item["message"]["body"] for item in got[0]["items"]] == ["m1"]
    assert got[0]["acked"] == [leased["items"][0]["deliveryId"]]


async def test_a_quiet_inbox_answers_without_an_actor(client: Any, services: Services) -> None:
    rt = services.runtime
    await setup_pair(client)
    await queue(client, "m0")  # no ack required: acked when fetched, the inbox is empty
    assert len((await (await fetch(client)).get_json())["items"]) == 1
    rt.registry.passivate_idle(0)
    with trio.fail_after(10):
        # Bounded: the note is left by the actor's thread as it stops (after actor_stopped).
        while not rt.registry.is_quiet(inbox.KIND, "a2"):  # noqa: ASYNC110
            await trio.sleep(0.01)
    empty = await (await fetch(client)).get_json()
    assert empty["items"] == []
    assert not rt.registry.is_live(inbox.KIND, "a2")  # answered from the note
    # A delivery starts the actor, which forgets the note: the next fetch gets it.
    await queue(client, "m1")
    assert not rt.registry.is_quiet(inbox.KIND, "a2")
    assert [i["message"]["body"] for i in (await (await fetch(client)).get_json())["items"]] == [
        "m1"
    ]


async def test_an_inbox_holding_a_lease_is_not_quiet(client: Any, services: Services) -> None:
    rt = services.runtime
    await setup_pair(client)
    await queue(client, "m0", ackRequired=True)
    leased = await (await fetch(client, "?lease=30")).get_json()
    ref = rt.registry.ref(inbox.KIND, "a2")
    rt.registry.passivate_idle(0)
    with trio.fail_after(10):
        while ref.is_alive():  # noqa: ASYNC110 - bounded, the actor's own thread stops it
            await trio.sleep(0.01)
    assert not rt.registry.is_quiet(inbox.KIND, "a2")
    # A new activation knows nothing of the lease but the store: the ack is read there.
    done = await (await fetch(client, f"?ack={leased['leaseId']}")).get_json()
    assert done["acked"] == [leased["items"][0]["deliveryId"]]


async def test_openapi_documents_the_ack_in_the_fetch(client: Any) -> None:
    document = await (await client.get("/openapi.json")).get_json()
    operation = document["paths"]["/api/agents/{agent_id}/inbox"]["get"]
    (parameter,) = [p for p in operation["parameters"] if p["name"] == "ack"]
    assert parameter["schema"] == {"type": "string", "maxLength": 64}
    assert "409" in operation["responses"]
    assert "acked" in document["components"]["schemas"]["Inbox"]["properties"]


async def test_a_fetch_hands_out_messages_queued_before_its_activation(
    client: Any, services: Services
) -> None:
    """The inbox keeps the messages it queued; one queued by an earlier activation is read
    from the store: both come out whole, in queue order."""
    rt = services.runtime
    await setup_pair(client)
    await queue(client, "before", ackRequired=True)
    ref = rt.registry.ref(inbox.KIND, "a2")
    rt.registry.passivate_idle(0)
    with trio.fail_after(10):
        while ref.is_alive():  # noqa: ASYNC110 - bounded, the actor's own thread stops it
            await trio.sleep(0.01)
    await queue(client, "after", ackRequired=True)
    items = (await (await fetch(client)).get_json())["items"]
    assert [(i["message"]["body"], i["message"]["from"]) for i in items] == [
        ("before", "a1"),
        ("after", "a1"),
    ]


async def test_a_passivated_inbox_and_conversation_resume_without_a_load(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their last activation parked its committed state: the next one resumes from it (the
    seq goes on, the inbox keeps its order) without reading the store."""
    rt = services.runtime
    await setup_pair(client)
    first = await queue(client, "m0", ackRequired=True)
    actors = [("inbox", "a2"), ("conversation", first["message"]["conversationId"])]
    rt.registry.passivate_idle(0)
    with trio.fail_after(10):
        # Parked as each actor's thread ends: bounded, no trio event to wait on.
        while not all(rt.registry.is_parked(kind, key) for kind, key in actors):  # noqa: ASYNC110
            await trio.sleep(0.01)
    loads: list[str] = []
    for name in ("inbox", "load_conversation"):
        real = getattr(message_store, name)

        def counted(key: str, real: Any = real, name: str = name) -> Any:
            loads.append(name)
            return real(key)

        monkeypatch.setattr(message_store, name, counted)
    second = await queue(client, "m1", ackRequired=True)
    assert second["message"]["seq"] == first["message"]["seq"] + 1
    items = (await (await fetch(client)).get_json())["items"]
    assert [i["message"]["body"] for i in items] == ["m0", "m1"]
    assert loads == []
