"""Integration events over HTTP: delivery-id dedupe, who may post, budgets, listings and
retention (spec tasks.md, "Integrations")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from relay.clock import ManualClock
from relay.errors import Unavailable
from relay.http.app import create_app
from relay.settings import IntegrationToken, Settings
from relay.store import integrations as integration_store
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.sse_client import open_stream

CI = "ci-integration-token-0123456789"
GITHUB = "github-integration-token-01234"
CI_H = bearer(CI)
GITHUB_H = bearer(GITHUB)
PER_MINUTE = 100


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Any]:
    integrations = [
        IntegrationToken(name="ci", token=CI, scopes=("activity:write",), per_minute=PER_MINUTE),
        IntegrationToken(name="github", token=GITHUB, scopes=(), per_minute=3),
    ]
    application = create_app(
        settings.model_copy(update={"integration_tokens": integrations}), clock=clock
    )
    async with application.test_app() as test_app:
        yield test_app


async def post(
    client: Any, name: str = "ci", delivery: str | None = "d-1", headers: Any = None, **body: Any
) -> Any:
    sent = dict(headers or CI_H)
    if delivery is not None:
        sent["X-Delivery-Id"] = delivery
    return await client.post(
        f"/api/integrations/{name}/events", json=body or {"type": "build.failed"}, headers=sent
    )


async def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, (await response.get_json())["error"]


async def test_an_event_is_stored_once_per_delivery_id(client: Any, clock: ManualClock) -> None:
    response = await post(
        client,
        type="build.failed",
        subject="main #12",
        payload={"url": "https://ci/12"},
        occurredAt=1_000,
    )
    assert response.status_code == 201
    reply = await response.get_json()
    assert reply["dispatches"] == []
    assert "duplicate" not in reply
    event = reply["event"]
    assert event["id"].startswith("ievt_")
    assert event["integration"] == "ci"
    assert event["deliveryId"] == "d-1"
    assert event["type"] == "build.failed"
    assert event["subject"] == "main #12"
    assert event["payload"] == {"url": "https://ci/12"}
    assert event["occurredAt"] == 1_000
    assert event["receivedAt"] == clock.now_ms()
    again = await post(client, type="other.type")
    assert again.status_code == 200
    assert await again.get_json() == {"event": event, "dispatches": [], "duplicate": True}
    # The same delivery id from another integration is another event.
    other = await post(client, "github", headers=GITHUB_H)
    assert other.status_code == 201


async def test_twenty_concurrent_posts_of_one_delivery_store_one_event(client: Any) -> None:
    statuses: list[int] = []
    ids: set[str] = set()

    async def one() -> None:
        response = await post(client, delivery="same")
        statuses.append(response.status_code)
        reply = await response.get_json()
        ids.add(reply["event"]["id"])
        assert reply.get("duplicate", False) is (response.status_code == 200)

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(one)
    assert sorted(statuses) == [200] * 19 + [201]
    assert len(ids) == 1
    listed = await (await client.get("/api/integrations/ci/events", headers=H)).get_json()
    assert len(listed) == 1


async def test_who_may_post(client: Any, mint: Any) -> None:
    assert (await post(client, headers=H)).status_code == 201  # root
    assert await error_of(await post(client, "ci", "d-2", headers=GITHUB_H)) == (
        403,
        "forbidden",
    )
    agent = bearer(mint(["task:write", "config:write"], {"agents": ["a1"]}))
    assert await error_of(await post(client, "ci", "d-3", headers=agent)) == (403, "forbidden")
    # Only a caller that may post anywhere learns a name is unknown.
    assert await error_of(await post(client, "nope", headers=GITHUB_H)) == (403, "forbidden")
    assert await error_of(await post(client, "nope", headers=H)) == (
        404,
        "integration not found",
    )
    response = await client.post(
        "/api/integrations/ci/events", json={"type": "x"}, headers={"X-Delivery-Id": "d"}
    )
    assert response.status_code == 401


async def test_bad_input_is_400_and_stores_nothing(client: Any) -> None:
    assert await error_of(await post(client, delivery=None)) == (
        400,
        "X-Delivery-Id header required",
    )
    assert (await post(client, delivery="x" * 201)).status_code == 400
    assert await error_of(await post(client, type="Has Caps")) == (
        400,
        "type must be 1..100 of a-z 0-9 _ . : -",
    )
    assert (await post(client, type="x" * 101)).status_code == 400
    assert (await post(client, type="ok", subject="s" * 501)).status_code == 400
    assert (await post(client, type="ok", payload=[1, 2])).status_code == 400
    assert (await post(client, subject="no type")).status_code == 400
    # A huge occurredAt is refused, not an overflow (500) on store.
    huge = await post(client, type="ok", occurredAt=10**29)
    assert huge.status_code == 400, await huge.get_data()
    assert "occurredAt" in (await huge.get_json())["error"]
    assert (await post(client, type="ok", occurredAt=-1)).status_code == 400
    listed = await (await client.get("/api/integrations/ci/events", headers=H)).get_json()
    assert listed == []


async def test_every_request_spends_budget(client: Any) -> None:
    for n in range(3):
        response = await post(client, "github", f"g-{n % 2}", headers=GITHUB_H)
        assert response.status_code in (200, 201)
    refused = await post(client, "github", "g-9", headers=GITHUB_H)
    assert await error_of(refused) == (429, "rate limit exceeded")
    assert refused.headers["Retry-After"]


async def test_summaries_never_show_the_token(client: Any, clock: ManualClock, mint: Any) -> None:
    await post(client, delivery="a")
    clock.advance(25 * 3600)
    await post(client, delivery="b")
    response = await client.get("/api/integrations", headers=H)
    assert response.status_code == 200
    listed = await response.get_json()
    assert listed == [
        {
            "name": "ci",
            "scopes": ["activity:write"],
            "perMinute": PER_MINUTE,
            "lastEventAt": clock.now_ms(),
            "events24h": 1,
        },
        {"name": "github", "scopes": [], "perMinute": 3, "lastEventAt": None, "events24h": 0},
    ]
    assert CI not in await response.get_data(as_text=True)
    no_scope = bearer(mint(["task:read"]))
    assert (await client.get("/api/integrations", headers=no_scope)).status_code == 403


async def test_recent_events(client: Any, clock: ManualClock) -> None:
    for n in range(3):
        await post(client, delivery=f"d{n}")
        clock.advance(1)
    response = await client.get("/api/integrations/ci/events?limit=2", headers=H)
    assert [e["deliveryId"] for e in await response.get_json()] == ["d2", "d1"]
    response = await client.get("/api/integrations/nope/events", headers=H)
    assert await error_of(response) == (404, "integration not found")
    response = await client.get("/api/integrations/ci/events?limit=0", headers=H)
    assert response.status_code == 400


async def test_retention_deletes_old_events_and_frees_their_delivery_ids(
    client: Any, clock: ManualClock
) -> None:
    await post(client, delivery="old")
    clock.advance(6 * 86_400)
    await post(client, delivery="young")
    clock.advance(86_400 + 1)
    response = await client.post("/api/maintenance/jobs/integration-retention/run", headers=H)
    assert response.status_code == 200, await response.get_data()
    listed = await (await client.get("/api/integrations/ci/events", headers=H)).get_json()
    assert [e["deliveryId"] for e in listed] == ["young"]
    # Past the dedupe window the delivery id is new again.
    assert (await post(client, delivery="old")).status_code == 201
    assert (await post(client, delivery="young")).status_code == 200


async def test_store_down_is_503_and_nothing_is_stored(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(_event: Any) -> Any:
        raise Unavailable("store unavailable")

    real = integration_store.receive
    monkeypatch.setattr(integration_store, "receive", down)
    response = await post(client)
    assert await error_of(response) == (503, "store unavailable")
    assert response.headers["Retry-After"]
    monkeypatch.setattr(integration_store, "receive", real)
    assert (await post(client)).status_code == 201


async def test_the_stream_shows_received_events_without_payload(client: Any) -> None:
    async with open_stream(client, {"view": "integrations"}) as stream:
        reply = await (await post(client, type="t", payload={"secret": "x"})).get_json()
        await post(client)  # a duplicate: no event
        await post(client, delivery="d-2")
        frames = await stream.events(2)
    first = dict(reply["event"])
    del first["payload"]
    assert frames[0].event == "integration"
    assert frames[0].data == {"change": "received", "event": first}
    assert frames[1].data["event"]["deliveryId"] == "d-2"
    assert all("payload" not in f.data["event"] for f in frames)


async def test_a_replay_dispatches_an_event_whose_dispatch_was_not_kept(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay.store import automations as automation_store

    r = await client.post("/api/agents", json={"id": "a1", "name": "a1"}, headers=H)
    assert r.status_code in (200, 201)
    body = {
        "name": "x",
        "trigger": {"type": "event", "eventType": "push"},
        "action": {"type": "post_message", "to": "a1", "body": "hi"},
    }
    automation = await (await client.post("/api/automations", json=body, headers=H)).get_json()
    real = automation_store.insert_dispatch

    async def down(*_args: Any) -> Any:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(automation_store, "insert_dispatch", down)
    first = await post(client, "github", "d-1", GITHUB_H, type="push")
    assert first.status_code == 503
    monkeypatch.setattr(automation_store, "insert_dispatch", real)
    # At once: the actor reloaded after the failed write, and its replies no longer wait
    # on that write (they did, until the next write succeeded).
    replay = await post(client, "github", "d-1", GITHUB_H, type="push")
    got = await replay.get_json()
    assert (replay.status_code, got.get("duplicate")) == (200, True), got
    assert [d["status"] for d in got["dispatches"]] == ["succeeded"]
    url = f"/api/automations/{automation['id']}/dispatches"
    assert len(await (await client.get(url, headers=H)).get_json()) == 1
    # A further replay answers with the kept dispatch and runs nothing again.
    again = await (await post(client, "github", "d-1", GITHUB_H, type="push")).get_json()
    assert again["dispatches"] == got["dispatches"]
    assert len(await (await client.get(url, headers=H)).get_json()) == 1
