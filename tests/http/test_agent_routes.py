"""Every agent route's happy and error paths, black-box through the test client."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.agent import reap_agents
from relay.clock import ManualClock
from relay.http.services import Services
from tests.conftest import root_headers

H = root_headers()


async def register(client: Any, agent_id: str = "a1", **fields: Any) -> Any:
    return await client.post("/api/agents", json={"id": agent_id, **fields}, headers=H)


async def card_of(client: Any, agent_id: str = "a1") -> dict[str, Any]:
    response = await client.get(f"/api/agents/{agent_id}", headers=H)
    assert response.status_code == 200
    card: dict[str, Any] = await response.get_json()
    return card


async def ids(response: Any) -> list[str]:
    assert response.status_code == 200
    return [card["id"] for card in await response.get_json()]


# -- register ------------------------------------------------------------------------------


async def test_register_returns_201_with_the_full_card(client: Any, clock: ManualClock) -> None:
    response = await register(
        client,
        name="Builder",
        kind="claude-code",
        ready=True,
        tags=["gpu", "eu"],
        orchestratorId="o1",
        providerCapabilities={"model": {"provider": "claude", "model": "opus"}},
        meta={"provider": "claude"},
    )
    assert response.status_code == 201
    assert await response.get_json() == {
        "id": "a1",
        "name": "Builder",
        "kind": "claude-code",
        "status": "online",
        "ready": True,
        "tags": ["gpu", "eu"],
        "orchestratorId": "o1",
        "providerCapabilities": {"model": {"provider": "claude", "model": "opus"}},
        "meta": {"provider": "claude"},
        "registeredAt": clock.now_ms(),
        "lastSeenAt": clock.now_ms(),
        "heartbeatIntervalSeconds": 10,
    }


async def test_register_defaults_name_kind_and_ready(client: Any) -> None:
    card = await (await register(client)).get_json()
    assert (card["name"], card["kind"], card["ready"], card["tags"], card["meta"]) == (
        "a1",
        "agent",
        False,
        [],
        {},
    )
    assert "orchestratorId" not in card
    assert "providerCapabilities" not in card


async def test_register_reply_carries_the_configured_heartbeat_interval(open_app: Any) -> None:
    async with open_app(heartbeat_interval_seconds=25) as app:
        response = await app.test_client().post("/api/agents", json={"id": "a1"}, headers=H)
    assert (await response.get_json())["heartbeatIntervalSeconds"] == 25


async def test_register_again_is_200_and_keeps_what_is_not_sent(
    client: Any, clock: ManualClock
) -> None:
    await register(
        client,
        name="Builder",
        kind="codex",
        ready=True,
        tags=["x"],
        orchestratorId="o1",
        providerCapabilities={"lifecycle": {"restartHard": True}},
        meta={"provider": "codex"},
    )
    registered_at = clock.now_ms()
    clock.advance(7)

    response = await register(client)

    assert response.status_code == 200
    card = await response.get_json()
    assert card["name"] == "Builder"
    assert card["kind"] == "codex"
    assert card["ready"] is True
    assert card["tags"] == ["x"]
    assert card["orchestratorId"] == "o1"
    assert card["providerCapabilities"] == {"lifecycle": {"restartHard": True}}
    assert card["meta"] == {"provider": "codex"}
    assert card["registeredAt"] == registered_at
    assert card["lastSeenAt"] == clock.now_ms()


async def test_register_again_replaces_sent_fields_and_merges_meta(client: Any) -> None:
    await register(client, name="Old", tags=["x"], meta={"provider": "claude", "model": "opus"})
    card = await (
        await register(client, name="New", tags=["y", "z"], ready=True, meta={"model": "sonnet"})
    ).get_json()
    assert card["name"] == "New"
    assert card["tags"] == ["y", "z"]
    assert card["ready"] is True
    assert card["meta"] == {"provider": "claude", "model": "sonnet"}


async def test_register_again_with_null_meta_value_removes_the_key(client: Any) -> None:
    await register(client, meta={"provider": "claude", "sessionName": "s1"})
    card = await (await register(client, meta={"sessionName": None})).get_json()
    assert card["meta"] == {"provider": "claude"}
    assert (await card_of(client))["meta"] == {"provider": "claude"}


async def test_register_counts_as_a_heartbeat_for_a_stale_agent(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await register(client)
    clock.advance(31)
    await reap_agents(services.runtime)
    assert (await card_of(client))["status"] == "stale"

    card = await (await register(client)).get_json()

    assert card["status"] == "online"
    assert card["lastSeenAt"] == clock.now_ms()


# -- heartbeat -----------------------------------------------------------------------------


async def test_heartbeat_returns_the_card_online_with_last_seen_now(
    client: Any, clock: ManualClock
) -> None:
    await register(client, name="Builder", meta={"k": "v"})
    clock.advance(3)
    response = await client.post("/api/agents/a1/heartbeat", headers=H)
    assert response.status_code == 200
    card = await response.get_json()
    assert card["status"] == "online"
    assert card["lastSeenAt"] == clock.now_ms()
    assert card["name"] == "Builder"
    assert card["meta"] == {"k": "v"}


async def test_heartbeat_is_persisted(client: Any, clock: ManualClock) -> None:
    await register(client)
    clock.advance(4)
    await client.post("/api/agents/a1/heartbeat", headers=H)
    assert (await card_of(client))["lastSeenAt"] == clock.now_ms()


# -- list ----------------------------------------------------------------------------------


async def test_list_returns_every_agent(client: Any) -> None:
    for agent_id in ("b", "a", "c"):
        await register(client, agent_id)
    assert sorted(await ids(await client.get("/api/agents", headers=H))) == ["a", "b", "c"]


async def test_list_filters_by_status(client: Any, services: Services, clock: ManualClock) -> None:
    await register(client, "quiet")
    clock.advance(31)
    await register(client, "busy")
    await reap_agents(services.runtime)

    assert await ids(await client.get("/api/agents?status=stale", headers=H)) == ["quiet"]
    assert await ids(await client.get("/api/agents?status=online", headers=H)) == ["busy"]
    assert await ids(await client.get("/api/agents?status=offline", headers=H)) == []


async def test_list_filters_by_orchestrator(client: Any) -> None:
    await register(client, "a1", orchestratorId="o1")
    await register(client, "a2", orchestratorId="o2")
    await register(client, "a3")
    assert await ids(await client.get("/api/agents?orchestratorId=o1", headers=H)) == ["a1"]


async def test_list_filters_by_tag(client: Any) -> None:
    await register(client, "a1", tags=["gpu", "eu"])
    await register(client, "a2", tags=["eu"])
    await register(client, "a3", tags=["gpus"])
    assert await ids(await client.get("/api/agents?tag=gpu", headers=H)) == ["a1"]
    assert sorted(await ids(await client.get("/api/agents?tag=eu", headers=H))) == ["a1", "a2"]


async def test_list_combines_filters(client: Any) -> None:
    await register(client, "a1", tags=["gpu"], orchestratorId="o1")
    await register(client, "a2", tags=["gpu"], orchestratorId="o2")
    await register(client, "a3", tags=["cpu"], orchestratorId="o1")
    response = await client.get("/api/agents?tag=gpu&orchestratorId=o1&status=online", headers=H)
    assert await ids(response) == ["a1"]


async def test_list_filter_too_long_is_400(client: Any) -> None:
    response = await client.get("/api/agents?tag=" + "t" * 501, headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": "tag must be at most 500 characters"}


# -- get -----------------------------------------------------------------------------------


async def test_get_returns_the_card_without_the_interval(client: Any) -> None:
    registered = await (await register(client, name="Builder")).get_json()
    card = await card_of(client)
    del registered["heartbeatIntervalSeconds"]
    assert card == registered


# -- patch ---------------------------------------------------------------------------------


async def test_patch_merges_meta_and_null_removes_a_key(client: Any) -> None:
    await register(client, meta={"provider": "claude", "model": "opus", "label": "x"})
    response = await client.patch(
        "/api/agents/a1", json={"meta": {"model": "sonnet", "label": None, "new": 1}}, headers=H
    )
    assert response.status_code == 200
    expected = {"provider": "claude", "model": "sonnet", "new": 1}
    assert (await response.get_json())["meta"] == expected
    assert (await card_of(client))["meta"] == expected


async def test_patch_replaces_tags(client: Any) -> None:
    await register(client, tags=["a", "b"])
    response = await client.patch("/api/agents/a1", json={"tags": ["c"]}, headers=H)
    assert (await response.get_json())["tags"] == ["c"]
    assert (await card_of(client))["tags"] == ["c"]


async def test_patch_can_clear_tags(client: Any) -> None:
    await register(client, tags=["a"])
    await client.patch("/api/agents/a1", json={"tags": []}, headers=H)
    assert (await card_of(client))["tags"] == []


@pytest.mark.parametrize("ready", [True, False])
async def test_patch_sets_ready(client: Any, ready: bool) -> None:
    await register(client, ready=not ready)
    response = await client.patch("/api/agents/a1", json={"ready": ready}, headers=H)
    assert (await response.get_json())["ready"] is ready
    assert (await card_of(client))["ready"] is ready


async def test_patch_renames(client: Any) -> None:
    await register(client, name="Old")
    response = await client.patch("/api/agents/a1", json={"name": "New"}, headers=H)
    assert (await response.get_json())["name"] == "New"
    assert (await card_of(client))["name"] == "New"


async def test_patch_leaves_unsent_fields_and_presence_alone(
    client: Any, clock: ManualClock
) -> None:
    before = await (
        await register(client, name="N", tags=["t"], ready=True, meta={"k": "v"})
    ).get_json()
    clock.advance(5)
    response = await client.patch("/api/agents/a1", json={}, headers=H)
    assert response.status_code == 200
    after = await response.get_json()
    del before["heartbeatIntervalSeconds"]
    assert after == before  # a patch is not a heartbeat: lastSeenAt unchanged


async def test_patch_does_not_create_an_agent(client: Any) -> None:
    await client.patch("/api/agents/ghost", json={"name": "x"}, headers=H)
    assert (await client.get("/api/agents/ghost", headers=H)).status_code == 404


# -- delete --------------------------------------------------------------------------------


async def test_delete_removes_the_agent(client: Any) -> None:
    await register(client)
    response = await client.delete("/api/agents/a1", headers=H)
    assert response.status_code == 200
    assert await response.get_json() == {"ok": True, "id": "a1"}
    assert (await client.get("/api/agents/a1", headers=H)).status_code == 404
    assert await ids(await client.get("/api/agents", headers=H)) == []


async def test_deleted_agent_gets_404_on_every_route(client: Any) -> None:
    await register(client)
    await client.delete("/api/agents/a1", headers=H)
    responses = [
        await client.post("/api/agents/a1/heartbeat", headers=H),
        await client.patch("/api/agents/a1", json={"ready": True}, headers=H),
        await client.delete("/api/agents/a1", headers=H),
        await client.get("/api/agents/a1/timeline", headers=H),
        await client.post("/api/agents/a1/timeline", json={"title": "t"}, headers=H),
    ]
    assert [r.status_code for r in responses] == [404] * 5
    assert [await r.get_json() for r in responses] == [{"error": "agent not found"}] * 5


async def test_delete_removes_the_timeline(client: Any) -> None:
    await register(client)
    await client.post("/api/agents/a1/timeline", json={"title": "old"}, headers=H)
    await client.delete("/api/agents/a1", headers=H)

    assert (await register(client)).status_code == 201
    response = await client.get("/api/agents/a1/timeline", headers=H)
    assert await response.get_json() == []


# -- timeline ------------------------------------------------------------------------------


async def test_timeline_post_returns_201_with_the_entry(client: Any, clock: ManualClock) -> None:
    await register(client)
    response = await client.post(
        "/api/agents/a1/timeline",
        json={"kind": "commit", "title": "Pushed", "body": "3 files", "metadata": {"sha": "abc"}},
        headers=H,
    )
    assert response.status_code == 201
    entry = await response.get_json()
    assert isinstance(entry.pop("id"), int)
    assert entry == {
        "agentId": "a1",
        "kind": "commit",
        "title": "Pushed",
        "body": "3 files",
        "metadata": {"sha": "abc"},
        "createdAt": clock.now_ms(),
    }


async def test_timeline_kind_defaults_to_note(client: Any) -> None:
    await register(client)
    response = await client.post("/api/agents/a1/timeline", json={"title": "t"}, headers=H)
    entry = await response.get_json()
    assert entry["kind"] == "note"
    assert entry["metadata"] == {}
    assert "body" not in entry


@pytest.mark.parametrize(("length", "status"), [(64, 201), (65, 400)])
async def test_timeline_kind_is_at_most_64_characters(
    client: Any, length: int, status: int
) -> None:
    await register(client)
    response = await client.post(
        "/api/agents/a1/timeline", json={"kind": "k" * length, "title": "t"}, headers=H
    )
    assert response.status_code == status
    if status == 400:
        assert await response.get_json() == {"error": "kind must be at most 64 characters"}


async def test_timeline_is_newest_first(client: Any, clock: ManualClock) -> None:
    await register(client)
    for title in ("first", "second", "third"):
        await client.post("/api/agents/a1/timeline", json={"title": title}, headers=H)
        clock.advance(1)
    response = await client.get("/api/agents/a1/timeline", headers=H)
    assert response.status_code == 200
    entries = await response.get_json()
    assert [e["title"] for e in entries] == ["third", "second", "first"]
    assert entries[0]["createdAt"] > entries[1]["createdAt"] > entries[2]["createdAt"]


async def test_timeline_limit_keeps_the_newest(client: Any) -> None:
    await register(client)
    for n in range(5):
        await client.post("/api/agents/a1/timeline", json={"title": f"e{n}"}, headers=H)
    response = await client.get("/api/agents/a1/timeline?limit=2", headers=H)
    assert [e["title"] for e in await response.get_json()] == ["e4", "e3"]


async def test_timeline_default_limit_is_50(client: Any) -> None:
    await register(client)
    for n in range(51):
        await client.post("/api/agents/a1/timeline", json={"title": f"e{n}"}, headers=H)
    entries = await (await client.get("/api/agents/a1/timeline", headers=H)).get_json()
    assert len(entries) == 50
    assert entries[-1]["title"] == "e1"


async def test_timeline_is_per_agent(client: Any) -> None:
    await register(client, "a1")
    await register(client, "a2")
    await client.post("/api/agents/a1/timeline", json={"title": "mine"}, headers=H)
    await client.post("/api/agents/a2/timeline", json={"title": "theirs"}, headers=H)
    entries = await (await client.get("/api/agents/a1/timeline", headers=H)).get_json()
    assert [e["title"] for e in entries] == ["mine"]


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", "limit must be between 1 and 500"),
        ("501", "limit must be between 1 and 500"),
        ("ten", "limit must be an integer"),
    ],
)
async def test_timeline_bad_limit_is_400(client: Any, limit: str, message: str) -> None:
    await register(client)
    response = await client.get(f"/api/agents/a1/timeline?limit={limit}", headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": message}
