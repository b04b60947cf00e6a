"""GET /api/agents/:id/inbox and POST …/inbox/ack: leases, expiry, dead letters, acks."""

from __future__ import annotations

from typing import Any

import trio

from relay.clock import ManualClock
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_messages import agent, error_of, send


async def setup_pair(client: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")


async def queue(client: Any, body: str = "x", **fields: Any) -> dict[str, Any]:
    response = await send(client, to="a2", body=body, **{"from": "a1", **fields})
    assert response.status_code == 201, await response.get_data()
    reply: dict[str, Any] = await response.get_json()
    return reply


async def fetch(client: Any, query: str = "", headers: Any = None) -> Any:
    return await client.get(f"/api/agents/a2/inbox{query}", headers=headers or H)


async def ack(client: Any, headers: Any = None, **body: Any) -> Any:
    return await client.post("/api/agents/a2/inbox/ack", json=body, headers=headers or H)


async def run_job(client: Any, name: str) -> dict[str, Any]:
    response = await client.post(f"/api/maintenance/jobs/{name}/run", headers=H)
    assert response.status_code == 200, await response.get_data()
    result: dict[str, Any] = (await response.get_json())["result"]
    return result


async def test_fetch_leases_in_queue_order_and_ack_acks(client: Any, clock: ManualClock) -> None:
    await setup_pair(client)
    for i in range(3):
        await queue(client, f"m{i}", ackRequired=True)
    reply = await (await fetch(client, "?limit=2&lease=30")).get_json()
    assert reply["leaseId"].startswith("ls_")
    assert reply["leaseExpiresAt"] == clock.now_ms() + 30_000
    assert [item["message"]["body"] for item in reply["items"]] == ["m0", "m1"]
    assert [item["attempt"] for item in reply["items"]] == [1, 1]
    # Leased ones are not handed out again: the next fetch gets the third only.
    second = await (await fetch(client)).get_json()
    assert [item["message"]["body"] for item in second["items"]] == ["m2"]
    acked = await ack(client, leaseId=reply["leaseId"])
    assert (await acked.get_json())["acked"] == [i["deliveryId"] for i in reply["items"]]
    # A repeated ack under the same lease is the same 200.
    again = await ack(client, leaseId=reply["leaseId"])
    assert (await again.get_json())["acked"] == [i["deliveryId"] for i in reply["items"]]
    peek = await (await fetch(client, "?peek=true")).get_json()
    assert [item["message"]["body"] for item in peek["items"]] == ["m2"]
    assert peek["leaseId"] is None


async def test_not_ack_required_is_acked_on_fetch(client: Any) -> None:
    await setup_pair(client)
    sent = await queue(client)
    reply = await (await fetch(client)).get_json()
    assert reply["items"][0]["attempt"] == 1
    deliveries = await (
        await client.get(f"/api/messages/{sent['message']['id']}/deliveries", headers=H)
    ).get_json()
    assert deliveries[0]["state"] == "acked"
    assert deliveries[0]["leaseId"] == reply["leaseId"]
    empty = await (await fetch(client)).get_json()
    assert empty == {"leaseId": None, "leaseExpiresAt": None, "items": []}


async def test_expired_lease_is_handed_out_again_without_the_job(
    client: Any, clock: ManualClock
) -> None:
    await setup_pair(client)
    await queue(client, ackRequired=True)
    first = await (await fetch(client, "?lease=5")).get_json()
    clock.advance(6)
    second = await (await fetch(client)).get_json()
    assert second["items"][0]["deliveryId"] == first["items"][0]["deliveryId"]
    assert second["items"][0]["attempt"] == 2
    stale = await ack(client, leaseId=first["leaseId"])
    assert await error_of(stale) == (409, "delivery is not leased by you")
    assert (await ack(client, leaseId=second["leaseId"])).status_code == 200


async def test_lease_expiry_job_requeues_then_dead_letters(client: Any, clock: ManualClock) -> None:
    await setup_pair(client)
    sent = await queue(client, ackRequired=True, maxAttempts=2)
    await fetch(client, "?lease=5")
    clock.advance(6)
    assert await run_job(client, "inbox-lease-expiry") == {"requeued": 1, "deadLettered": 0}
    await fetch(client, "?lease=5")
    clock.advance(6)
    assert await run_job(client, "inbox-lease-expiry") == {"requeued": 0, "deadLettered": 1}
    deliveries = await (
        await client.get(f"/api/messages/{sent['message']['id']}/deliveries", headers=H)
    ).get_json()
    assert deliveries[0]["state"] == "dead_lettered"
    assert deliveries[0]["attempt"] == 2
    audit = await (await client.get("/api/activity?view=messages", headers=H)).get_json()
    assert [e["title"] for e in audit] == ["Message dead-lettered"]
    assert audit[0]["agentId"] == "a2"
    assert (await (await fetch(client)).get_json())["items"] == []


async def test_message_expiry_wins_over_a_lease(client: Any, clock: ManualClock) -> None:
    await setup_pair(client)
    await queue(client, ackRequired=True, ttlSeconds=60)
    await queue(client, ttlSeconds=60)
    await fetch(client, "?lease=120&limit=1")
    clock.advance(61)
    assert await run_job(client, "message-expiry") == {"expired": 2}
    assert (await (await fetch(client, "?peek=true")).get_json())["items"] == []


async def test_message_retention_deletes_long_expired_messages(
    client: Any, clock: ManualClock
) -> None:
    await setup_pair(client)
    sent = await queue(client, ttlSeconds=60)
    clock.advance(31 * 86_400)
    result = await run_job(client, "message-retention")
    assert result["deleted"] == 1
    gone = await client.get(f"/api/messages/{sent['message']['id']}", headers=H)
    assert gone.status_code == 404


async def test_ack_is_all_or_nothing(client: Any) -> None:
    await setup_pair(client)
    await queue(client, "m0", ackRequired=True)
    await queue(client, "m1", ackRequired=True)
    first = await (await fetch(client, "?limit=1")).get_json()
    second = await (await fetch(client, "?limit=1")).get_json()
    mine = first["items"][0]["deliveryId"]
    other = second["items"][0]["deliveryId"]
    refused = await ack(client, leaseId=first["leaseId"], deliveryIds=[mine, other])
    assert await error_of(refused) == (409, "delivery is not leased by you")
    # Nothing was acked: the first delivery still acks under its lease.
    assert (await (await ack(client, leaseId=first["leaseId"], deliveryIds=[mine])).get_json())[
        "acked"
    ] == [mine]
    unknown = await ack(client, leaseId=first["leaseId"], deliveryIds=["dlv_nope"])
    assert await error_of(unknown) == (404, "delivery not found")
    no_lease = await ack(client, leaseId="ls_unknown")
    assert await error_of(no_lease) == (409, "delivery is not leased by you")


async def test_inbox_parameter_errors(client: Any) -> None:
    await setup_pair(client)
    cases = [
        ("?lease=4", "lease must be between 5 and 3600"),
        ("?lease=3601", "lease must be between 5 and 3600"),
        ("?limit=0", "limit must be between 1 and 100"),
        ("?limit=101", "limit must be between 1 and 100"),
        ("?wait=61", "wait must be between 0 and 60"),
        ("?peek=yes", "peek must be true or false"),
    ]
    for query, message in cases:
        assert await error_of(await fetch(client, query)) == (400, message), query
    assert (await ack(client)).status_code == 400
    missing = await client.get("/api/agents/zz/inbox", headers=H)
    assert await error_of(missing) == (404, "agent not found")
    missing_ack = await client.post("/api/agents/zz/inbox/ack", json={"leaseId": "x"}, headers=H)
    assert await error_of(missing_ack) == (404, "agent not found")


async def test_constrained_tokens(client: Any, mint: Any) -> None:
    await setup_pair(client)
    await queue(client, ackRequired=True)
    own = bearer(mint(["message:read", "message:write"], {"agents": ["a2"]}))
    other = bearer(mint(["message:read", "message:write"], {"agents": ["a1"]}))
    read_only = bearer(mint(["message:read"], {"agents": ["a2"]}))
    unconstrained = bearer(mint(["message:read", "message:write"]))
    assert await error_of(await fetch(client, headers=other)) == (403, "forbidden")
    assert await error_of(await fetch(client, headers=unconstrained)) == (403, "forbidden")
    assert await error_of(await fetch(client, "?peek=true", headers=other)) == (403, "forbidden")
    reply = await (await fetch(client, headers=read_only)).get_json()
    assert len(reply["items"]) == 1
    assert (await ack(client, read_only, leaseId=reply["leaseId"])).status_code == 403
    assert await error_of(await ack(client, other, leaseId=reply["leaseId"])) == (
        403,
        "forbidden",
    )
    assert (await ack(client, own, leaseId=reply["leaseId"])).status_code == 200
    assert (await client.get("/api/agents/a2/inbox")).status_code == 401


async def test_orchestrator_token_acts_for_its_agents(client: Any, mint: Any) -> None:
    await client.post("/api/orchestrators", json={"id": "o1", "baseDir": "/srv"}, headers=H)
    await agent(client, "a1")
    await agent(client, "a2", orchestratorId="o1")
    await queue(client)
    orch = bearer(mint(["message:read"], {"orchestrators": ["o1"]}, role="orchestrator"))
    assert len((await (await fetch(client, headers=orch)).get_json())["items"]) == 1
    other = bearer(mint(["message:read"], {"orchestrators": ["o2"]}, role="orchestrator"))
    assert (await fetch(client, headers=other)).status_code == 403


async def test_wait_returns_when_a_message_arrives(client: Any, services: Any) -> None:
    await setup_pair(client)
    got: list[Any] = []

    async def poller() -> None:
        got.append(await (await fetch(client, "?wait=30")).get_json())

    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(poller)
            for _ in range(500):  # until the poll waits on the inbox's bell
                if services.runtime.doorbells.armed("inbox:a2"):
                    break
                await trio.sleep(0.01)
            await queue(client, "late")
    assert [item["message"]["body"] for item in got[0]["items"]] == ["late"]


async def test_a_waiting_fetch_wakes_when_a_lease_runs_out(
    client: Any, services: Any, clock: ManualClock
) -> None:
    """Nothing rings when a lease runs out: the waiting poll sleeps until that moment (by the
    relay's clock), not on a fixed re-check, and then gets the delivery again."""
    await setup_pair(client)
    sent = await queue(client, "again", ackRequired=True)
    first = await (await fetch(client, "?lease=5")).get_json()
    assert [item["attempt"] for item in first["items"]] == [1]
    clock.advance(4.9)  # 0.1 s of the lease left
    got: list[Any] = []

    async def poller() -> None:
        got.append(await (await fetch(client, "?wait=20")).get_json())

    with trio.fail_after(10):  # well under the 20 s wait and the 30 s re-check ceiling
        async with trio.open_nursery() as nursery:
            nursery.start_soon(poller)
            for _ in range(500):  # until the poll waits on the inbox's bell
                if services.runtime.doorbells.armed("inbox:a2"):
                    break
                await trio.sleep(0.01)
            clock.advance(1)  # the lease ran out while it waited
    [item] = got[0]["items"]
    assert (item["message"]["id"], item["attempt"]) == (sent["message"]["id"], 2)


async def test_wait_ends_empty(client: Any) -> None:
    await setup_pair(client)
    with trio.fail_after(10):
        reply = await (await fetch(client, "?wait=1")).get_json()
    assert reply == {"leaseId": None, "leaseExpiresAt": None, "items": []}


async def test_inbox_events(client: Any, services: Any, clock: ManualClock) -> None:
    from relay.store import stream as stream_store

    await setup_pair(client)
    await queue(client, ackRequired=True, maxAttempts=1)
    reply = await (await fetch(client, "?lease=5")).get_json()
    assert reply["items"]
    clock.advance(6)
    await run_job(client, "inbox-lease-expiry")
    rows = await services.runtime.store.run(lambda: stream_store.after(0, limit=500))
    changes = [row.data["change"] for row in rows if row.event == "delivery"]
    assert changes == ["queued", "leased", "dead_lettered"]
    assert all("body" not in str(row.data) for row in rows if row.event == "delivery")
