"""What the event stream and the feed give a caller of a view's records: what the view's
own routes would (tasks and pairs need ``task:read``; a pair is its parties')."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.sse_client import open_stream, until_end


async def test_task_and_pair_events_need_task_read(client: Any, mint: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    for agent_id in ("a1", "a2"):
        response = await client.post(
            "/api/agents", json={"id": agent_id, "orchestratorId": "o1"}, headers=H
        )
        assert response.status_code == 201
    watcher = bearer(mint(["activity:read"], {"orchestrators": ["o1"], "cwd": ["/srv/o1"]}))
    # A dashboard limited to o1 acts for o1's agents: it reads their pair over HTTP, and so
    # on the stream (a provider token limited to o1 covers them but reads neither).
    reader = bearer(
        mint(["activity:read", "task:read"], {"orchestrators": ["o1"]}, role="dashboard")
    )
    assert (await client.get("/api/tasks", headers=watcher)).status_code == 403
    async with (
        open_stream(client, headers=watcher) as watched,
        open_stream(client, headers=reader) as read,
    ):
        response = await client.post(
            "/api/tasks", json={"title": "rotate keys", "body": "new key: hunter2"}, headers=H
        )
        assert response.status_code == 201
        response = await client.post(
            "/api/pairs", json={"driver": "a1", "navigator": "a2", "objective": "x"}, headers=H
        )
        assert response.status_code == 201
        withheld = await until_end(client, watched)
        shown = await until_end(client, read)
    assert [f.event for f in withheld if f.event in ("task", "pair")] == []
    assert {f.event for f in shown} >= {"task", "pair"}
    feed = await client.get("/api/activity?view=tasks", headers=watcher)
    assert await feed.get_json() == []


async def test_a_pair_is_streamed_only_to_who_covers_a_party(client: Any) -> None:
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    for agent_id, orchestrator in (("a1", "o1"), ("b1", "o2"), ("b2", "o2"), ("b3", "o2")):
        # Each works under its host's base dir: o1's token is limited to /srv/o1.
        meta = {"cwd": f"/srv/{orchestrator}/{agent_id}"}
        body = {"id": agent_id, "orchestratorId": orchestrator, "meta": meta}
        response = await client.post("/api/agents", json=body, headers=H)
        assert response.status_code == 201
    token = bearer(o1["token"])
    async with open_stream(client, headers=token) as stream:
        others = await client.post(
            "/api/pairs", json={"driver": "b1", "navigator": "b2", "objective": "o2's"}, headers=H
        )
        assert others.status_code == 201
        mixed = await client.post(
            "/api/pairs", json={"driver": "b3", "navigator": "a1", "objective": "both"}, headers=H
        )
        assert mixed.status_code == 201
        frames = await until_end(client, stream)
    other_pair, mixed_pair = await others.get_json(), await mixed.get_json()
    # As the pair's own read: o1 reads the pair with its agent a1, not o2's own pair.
    assert (await client.get(f"/api/pairs/{other_pair['id']}", headers=token)).status_code == 403
    assert (await client.get(f"/api/pairs/{mixed_pair['id']}", headers=token)).status_code == 200
    streamed = {f.data["pair"]["id"] for f in frames if f.event == "pair"}
    assert streamed == {mixed_pair["id"]}


async def test_config_and_automation_records_need_config_read(client: Any, mint: Any) -> None:
    """A config change carries its value, an automation's dispatch its result and error:
    read with ``config:read`` on their routes, so on the stream and the feed too."""
    watcher = bearer(mint(["activity:read"], sub="watcher", role="integration"))
    reader = bearer(mint(["activity:read", "config:read"], sub="reader", role="integration"))
    body = {
        "name": "notify",
        "trigger": {"type": "schedule", "everySeconds": 60},
        "action": {"type": "post_message", "channelId": "nowhere", "body": "x"},
    }
    async with (
        open_stream(client, headers=watcher) as watched,
        open_stream(client, headers=reader) as read,
    ):
        url = "/api/config/steward/settings"
        response = await client.put(url, json={"value": {"apiKey": "k"}}, headers=H)
        assert response.status_code in (200, 201), await response.get_data()
        saved = await client.post("/api/automations", json=body, headers=H)
        assert saved.status_code == 201, await saved.get_data()
        automation_id = (await saved.get_json())["id"]
        run = await client.post(f"/api/automations/{automation_id}/run", headers=H)
        assert (await run.get_json())["status"] == "failed"
        withheld = await until_end(client, watched)
        shown = await until_end(client, read)
    kinds = {"config-changed", "automation"}
    assert [f.event for f in withheld if f.event in kinds] == []
    assert {f.event for f in shown} >= kinds
    for view in ("config", "automations"):
        feed = await client.get(f"/api/activity?view={view}", headers=watcher)
        assert await feed.get_json() == [], view
        feed = await client.get(f"/api/activity?view={view}", headers=reader)
        assert await feed.get_json() != [], view
