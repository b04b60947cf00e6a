"""Restart safety: what was acknowledged before the app stopped is there after it starts again.

Each test opens an app, writes through HTTP, leaves ``test_app()`` (actors stop, the store
closes), then opens a new app on the same settings and database and reads it all back.
"""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from tests.conftest import root_headers, services_of

H = root_headers()


async def test_agents_survive_a_restart(open_app: Any, clock: ManualClock) -> None:
    async with open_app() as app:
        client = app.test_client()
        await client.post(
            "/api/agents",
            json={"id": "a1", "name": "One", "tags": ["t"], "meta": {"provider": "claude"}},
            headers=H,
        )
        await client.post("/api/agents", json={"id": "a2", "orchestratorId": "o1"}, headers=H)
        clock.advance(2)
        await client.post("/api/agents/a1/heartbeat", headers=H)
        await client.patch("/api/agents/a2", json={"ready": True}, headers=H)
        before = await (await client.get("/api/agents", headers=H)).get_json()
    assert [card["id"] for card in before] == ["a1", "a2"]

    async with open_app() as app:
        after = await (await app.test_client().get("/api/agents", headers=H)).get_json()

    assert after == before


async def test_deleted_agent_stays_deleted_after_a_restart(open_app: Any) -> None:
    async with open_app() as app:
        client = app.test_client()
        await client.post("/api/agents", json={"id": "a1"}, headers=H)
        await client.delete("/api/agents/a1", headers=H)

    async with open_app() as app:
        response = await app.test_client().get("/api/agents/a1", headers=H)

    assert response.status_code == 404


async def test_timeline_survives_a_restart(open_app: Any) -> None:
    async with open_app() as app:
        client = app.test_client()
        await client.post("/api/agents", json={"id": "a1"}, headers=H)
        for title in ("first", "second"):
            await client.post(
                "/api/agents/a1/timeline",
                json={"title": title, "kind": "commit", "metadata": {"n": title}},
                headers=H,
            )
        before = await (await client.get("/api/agents/a1/timeline", headers=H)).get_json()

    async with open_app() as app:
        client = app.test_client()
        after = await (await client.get("/api/agents/a1/timeline", headers=H)).get_json()
        # New entries continue after the old ones: ids are not reused.
        third = await (
            await client.post("/api/agents/a1/timeline", json={"title": "third"}, headers=H)
        ).get_json()

    assert after == before
    assert [entry["title"] for entry in after] == ["second", "first"]
    assert third["id"] > max(entry["id"] for entry in before)


async def test_activity_survives_a_restart(open_app: Any) -> None:
    async with open_app() as app:
        client = app.test_client()
        await client.post(
            "/api/activity",
            json={"title": "Deployed", "kind": "deploy", "view": "ops", "metadata": {"v": 2}},
            headers=H,
        )
        await client.post("/api/activity", json={"title": "Noted", "agentId": "a1"}, headers=H)
        before = await (await client.get("/api/activity", headers=H)).get_json()
    assert [event["title"] for event in before] == ["Noted", "Deployed"]

    async with open_app() as app:
        after = await (await app.test_client().get("/api/activity", headers=H)).get_json()

    assert after == before


async def test_activity_client_id_dedup_returns_the_first_event(open_app: Any) -> None:
    async with open_app() as app:
        client = app.test_client()
        first = await client.post(
            "/api/activity", json={"clientId": "c-1", "title": "Once"}, headers=H
        )
        again = await client.post(
            "/api/activity", json={"clientId": "c-1", "title": "Twice?"}, headers=H
        )
        events = await (await client.get("/api/activity", headers=H)).get_json()

    assert first.status_code == 201
    assert again.status_code == 200
    assert await again.get_json() == await first.get_json()
    assert [event["title"] for event in events] == ["Once"]


async def test_activity_client_id_dedup_holds_across_a_restart(open_app: Any) -> None:
    async with open_app() as app:
        first = await app.test_client().post(
            "/api/activity", json={"clientId": "c-1", "title": "Once"}, headers=H
        )
        stored = await first.get_json()

    async with open_app() as app:
        client = app.test_client()
        again = await client.post(
            "/api/activity", json={"clientId": "c-1", "title": "Once"}, headers=H
        )
        events = await (await client.get("/api/activity", headers=H)).get_json()

    assert again.status_code == 200
    assert (await again.get_json())["id"] == stored["id"]
    assert len(events) == 1


async def test_passivated_writes_survive_a_restart(open_app: Any, clock: ManualClock) -> None:
    # A write acknowledged just before an actor was passivated and the app stopped.
    async with open_app() as app:
        client = app.test_client()
        await client.post("/api/agents", json={"id": "a1"}, headers=H)
        clock.advance(9)
        await client.patch("/api/agents/a1", json={"meta": {"k": "v"}}, headers=H)
        services_of(app).runtime.registry.passivate_idle(0)

    async with open_app() as app:
        card = await (await app.test_client().get("/api/agents/a1", headers=H)).get_json()

    assert card["meta"] == {"k": "v"}
