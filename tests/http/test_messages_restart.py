"""Messaging across a restart: queued and leased deliveries survive, a lease is never
doubled, and a conversation's seq continues where it stopped."""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from tests.conftest import root_headers

H = root_headers()


async def test_deliveries_and_leases_survive_a_restart(open_app: Any, clock: ManualClock) -> None:
    async with open_app() as app:
        client = app.test_client()
        for agent_id in ("a1", "a2"):
            await client.post("/api/agents", json={"id": agent_id, "name": agent_id}, headers=H)
        for i in range(3):
            response = await client.post(
                "/api/messages",
                json={"to": "a2", "body": f"m{i}", "ackRequired": True, "from": "a1"},
                headers=H,
            )
            assert response.status_code == 201
        leased = await (await client.get("/api/agents/a2/inbox?limit=1", headers=H)).get_json()
    assert [i["message"]["body"] for i in leased["items"]] == ["m0"]

    async with open_app() as app:
        client = app.test_client()
        peek = await (await client.get("/api/agents/a2/inbox?peek=true", headers=H)).get_json()
        assert [(i["message"]["body"], i["state"]) for i in peek["items"]] == [
            ("m0", "leased"),
            ("m1", "queued"),
            ("m2", "queued"),
        ]
        rest = await (await client.get("/api/agents/a2/inbox", headers=H)).get_json()
        assert [i["message"]["body"] for i in rest["items"]] == ["m1", "m2"]
        acked = await client.post(
            "/api/agents/a2/inbox/ack", json={"leaseId": leased["leaseId"]}, headers=H
        )
        assert (await acked.get_json())["acked"] == [leased["items"][0]["deliveryId"]]
        nxt = await client.post(
            "/api/messages", json={"to": "a2", "body": "m3", "from": "a1"}, headers=H
        )
        assert (await nxt.get_json())["message"]["seq"] == 4
        clock.advance(61)
        again = await (await client.get("/api/agents/a2/inbox", headers=H)).get_json()
        # m1 and m2's lease expired: they come back (attempt 2) in their place, before m3.
        assert [(i["message"]["body"], i["attempt"]) for i in again["items"]] == [
            ("m1", 2),
            ("m2", 2),
            ("m3", 1),
        ]
