"""Automations at work: integration events and schedules dispatch them, each action runs
as ``automation:<id>`` and every outcome is kept (spec tasks.md, "Automations")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from relay.actors import automations
from relay.actors.orchestrator import reap_orchestrators
from relay.clock import ManualClock
from relay.errors import Unavailable
from relay.http.app import create_app
from relay.http.services import Services
from relay.settings import IntegrationToken, Settings
from relay.store import automations as automation_store
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.sse_client import open_stream

GITHUB = "github-integration-token-01234"
GITHUB_H = bearer(GITHUB)


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Any]:
    tokens = [IntegrationToken(name="github", token=GITHUB, scopes=(), per_minute=1000)]
    application = create_app(
        settings.model_copy(update={"integration_tokens": tokens}), clock=clock
    )
    async with application.test_app() as test_app:
        yield test_app


async def agent(client: Any, agent_id: str = "a1") -> None:
    response = await client.post("/api/agents", json={"id": agent_id, "name": agent_id}, headers=H)
    assert response.status_code in (200, 201), await response.get_data()


async def save(client: Any, action: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "name": "auto",
        "trigger": {"type": "event", "eventType": "pull_request.*"},
        "action": action,
        **fields,
    }
    response = await client.post("/api/automations", json=body, headers=H)
    assert response.status_code == 201, await response.get_data()
    saved: dict[str, Any] = await response.get_json()
    return saved


async def deliver(
    client: Any, delivery: str = "d-1", type_: str = "pull_request.opened", **body: Any
) -> Any:
    headers = {**GITHUB_H, "X-Delivery-Id": delivery}
    return await client.post(
        "/api/integrations/github/events", json={"type": type_, **body}, headers=headers
    )


async def run(client: Any, automation: dict[str, Any], event: Any = None) -> dict[str, Any]:
    url = f"/api/automations/{automation['id']}/run"
    kwargs: dict[str, Any] = {"headers": H}
    if event is not None:
        kwargs["json"] = {"event": event}
    response = await client.post(url, **kwargs)
    assert response.status_code == 200, await response.get_data()
    result: dict[str, Any] = await response.get_json()
    return result


async def dispatches(client: Any, automation: dict[str, Any], limit: int = 50) -> list[Any]:
    url = f"/api/automations/{automation['id']}/dispatches?limit={limit}"
    response = await client.get(url, headers=H)
    assert response.status_code == 200
    found: list[Any] = await response.get_json()
    return found


MESSAGE = {
    "type": "post_message",
    "to": "a1",
    "body": "PR {{event.payload.number}}: {{event.subject}} ({{event.payload.labels}})",
    "importance": "high",
}


async def test_an_event_posts_a_templated_message_as_the_automation(
    client: Any, clock: ManualClock
) -> None:
    await agent(client)
    automation = await save(client, MESSAGE)
    response = await deliver(
        client, subject="Fix it", payload={"number": 7, "labels": ["bug", "p1"]}
    )
    assert response.status_code == 201
    reply = await response.get_json()
    [dispatch] = reply["dispatches"]
    assert dispatch["id"].startswith("ad_")
    assert dispatch["automationId"] == automation["id"]
    assert dispatch["trigger"] == "event"
    assert dispatch["eventId"] == reply["event"]["id"]
    assert dispatch["status"] == "succeeded"
    assert dispatch["at"] == clock.now_ms()
    assert "error" not in dispatch
    message_id = dispatch["result"]["messageId"]
    message = await (await client.get(f"/api/messages/{message_id}", headers=H)).get_json()
    assert message["from"] == f"automation:{automation['id']}"
    assert message["to"] == "a1"
    assert message["importance"] == "high"
    assert message["body"] == 'PR 7: Fix it (["bug","p1"])'
    assert await dispatches(client, automation) == [dispatch]


async def test_a_post_to_an_unknown_channel_fails_and_is_audited(client: Any) -> None:
    automation = await save(client, {"type": "post_message", "channelId": "nope", "body": "x"})
    [dispatch] = (await (await deliver(client)).get_json())["dispatches"]
    assert dispatch["status"] == "failed"
    assert dispatch["error"] == "channel not found"
    assert "result" not in dispatch
    assert await dispatches(client, automation) == [dispatch]
    feed = await (await client.get("/api/activity?view=automations", headers=H)).get_json()
    assert [e["title"] for e in feed] == ["Automation dispatch failed"]
    assert feed[0]["metadata"]["dispatch"] == dispatch


async def test_an_event_dispatches_each_enabled_match_once_by_name(client: Any) -> None:
    await agent(client)
    body = {"type": "post_message", "to": "a1", "body": "x"}
    second = await save(client, body, name="b-second")
    first = await save(client, body, name="a-first")
    await save(client, body, name="c-disabled", enabled=False)
    await save(client, body, name="d-other-type", trigger={"type": "event", "eventType": "push"})
    await save(
        client,
        body,
        name="e-filtered-out",
        trigger={"type": "event", "eventType": "*", "filter": {"payload.repo": "other"}},
    )
    await save(
        client,
        body,
        name="f-filtered-in",
        trigger={"type": "event", "eventType": "*", "filter": {"payload.repo": "relay"}},
    )
    await save(
        client,
        body,
        name="g-other-integration",
        trigger={"type": "event", "eventType": "*", "integration": "ci"},
    )
    reply = await (await deliver(client, payload={"repo": "relay"})).get_json()
    names = {
        a["id"]: a["name"]
        for a in await (await client.get("/api/automations", headers=H)).get_json()
    }
    assert [names[d["automationId"]] for d in reply["dispatches"]] == [
        "a-first",
        "b-second",
        "f-filtered-in",
    ]
    assert len(await dispatches(client, first)) == 1
    assert len(await dispatches(client, second)) == 1


async def test_a_replayed_delivery_dispatches_nothing(client: Any) -> None:
    await agent(client)
    automation = await save(client, {"type": "post_message", "to": "a1", "body": "x"})
    first = await (await deliver(client)).get_json()
    again = await deliver(client)
    assert again.status_code == 200
    replay = await again.get_json()
    assert replay["duplicate"] is True
    assert replay["dispatches"] == first["dispatches"]  # what the first delivery did
    assert len(await dispatches(client, automation)) == 1


async def test_twenty_concurrent_deliveries_make_one_event_and_one_dispatch(client: Any) -> None:
    await agent(client)
    automation = await save(client, {"type": "post_message", "to": "a1", "body": "x"})
    statuses: list[int] = []
    events: set[str] = set()

    async def one() -> None:
        response = await deliver(client, delivery="same")
        statuses.append(response.status_code)
        events.add((await response.get_json())["event"]["id"])

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(one)
    assert sorted(statuses) == [200] * 19 + [201]
    assert len(events) == 1
    [dispatch] = await dispatches(client, automation)
    assert dispatch["eventId"] in events
    inbox = await (await client.get("/api/agents/a1/inbox", headers=H)).get_json()
    assert len(inbox["items"]) == 1


async def test_create_task_runs_as_the_automation(client: Any) -> None:
    action = {
        "type": "create_task",
        "task": {"title": "Review PR {{event.payload.number}}", "body": "{{event.payload}}"},
    }
    automation = await save(client, action)
    [dispatch] = (await (await deliver(client, payload={"number": 9})).get_json())["dispatches"]
    assert dispatch["status"] == "succeeded"
    task_id = dispatch["result"]["taskId"]
    task = await (await client.get(f"/api/tasks/{task_id}", headers=H)).get_json()
    assert task["title"] == "Review PR 9"
    assert task["body"] == '{"number":9}'
    assert task["createdBy"] == f"automation:{automation['id']}"
    assert task["status"] == "submitted"


async def test_create_task_refused_is_a_failed_dispatch(client: Any) -> None:
    action = {"type": "create_task", "task": {"title": "t", "dependsOn": ["tsk_missing"]}}
    automation = await save(client, action)
    result = await run(client, automation)
    assert result["status"] == "failed"
    assert result["error"] == "task not found"
    empty_title = await save(
        client, {"type": "create_task", "task": {"title": "{{event.nothing}}"}}, name="empty"
    )
    result = await run(client, empty_title)
    assert result["error"] == "title must be 1 to 200 characters"


POLICY = {"provider": "claude", "cwd": "/srv/o1/base", "model": "opus", "label": "policy"}
SPAWN = {"type": "spawn_agent", "orchestratorId": "o1", "policyName": "reviewer"}


async def put_policy(client: Any) -> None:
    response = await client.put(
        "/api/config/spawn-policies/reviewer", json={"value": POLICY}, headers=H
    )
    assert response.status_code in (200, 201), await response.get_data()


async def test_spawn_agent_queues_the_policy_with_cwd_and_label_overriding(client: Any) -> None:
    await register_orchestrator(client)
    await put_policy(client)
    automation = await save(
        client, {**SPAWN, "cwd": "/srv/o1/relay", "label": "pr-{{event.payload.repo}}"}
    )
    result = await run(client, automation, {"payload": {"repo": "relay"}})
    assert result["status"] == "succeeded", result
    assert result["trigger"] == "manual"
    assert result["result"]["spawnRequestId"].startswith("sp_")
    command_id = result["result"]["commandId"]
    command = await (await client.get(f"/api/commands/{command_id}", headers=H)).get_json()
    assert command["type"] == "agent.spawn"
    params = command["params"]
    assert params["cwd"] == "/srv/o1/relay"
    assert params["label"] == "pr-relay"
    assert params["model"] == "opus"
    assert params["policyName"] == "reviewer"
    assert params["spawnRequestId"] == result["result"]["spawnRequestId"]


async def test_spawn_agent_without_its_policy_fails(client: Any) -> None:
    await register_orchestrator(client)
    automation = await save(client, SPAWN)
    result = await run(client, automation)
    assert (result["status"], result["error"]) == ("failed", "spawn policy not found")


async def test_spawn_agent_on_an_offline_orchestrator_fails(
    client: Any, clock: ManualClock, services: Services
) -> None:
    await register_orchestrator(client)
    await put_policy(client)
    automation = await save(client, SPAWN)
    clock.advance(400)
    await reap_orchestrators(services.runtime)
    result = await run(client, automation)
    assert (result["status"], result["error"]) == ("failed", "orchestrator is not online")


async def test_a_manual_run_works_on_a_disabled_automation(client: Any) -> None:
    await agent(client)
    automation = await save(
        client, {"type": "post_message", "to": "a1", "body": "{{event.note}}"}, enabled=False
    )
    result = await run(client, automation, {"note": "by hand"})
    assert result["status"] == "succeeded"
    assert result["trigger"] == "manual"
    assert "eventId" not in result
    message_id = result["result"]["messageId"]
    message = await (await client.get(f"/api/messages/{message_id}", headers=H)).get_json()
    assert message["body"] == "by hand"
    # A disabled automation is not dispatched by events.
    assert (await (await deliver(client)).get_json())["dispatches"] == []


async def test_a_bad_run_body_is_400(client: Any) -> None:
    automation = await save(client, {"type": "post_message", "to": "a1", "body": "x"})
    url = f"/api/automations/{automation['id']}/run"
    response = await client.post(url, json={"event": "nope"}, headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": "event must be an object"}
    assert await dispatches(client, automation) == []


async def test_past_the_hourly_cap_runs_are_skipped(client: Any, clock: ManualClock) -> None:
    await agent(client)
    automation = await save(client, {"type": "post_message", "to": "a1", "body": "x"}, maxPerHour=2)
    assert (await run(client, automation))["status"] == "succeeded"
    clock.advance(60)
    assert (await run(client, automation))["status"] == "succeeded"
    skipped = await run(client, automation)
    assert skipped["status"] == "skipped"
    assert skipped["error"] == "automation rate limit reached"
    assert "result" not in skipped
    clock.advance(3600 - 60)  # the first run leaves the window, the second does not
    assert (await run(client, automation))["status"] == "succeeded"
    assert (await run(client, automation))["status"] == "skipped"
    listed = await dispatches(client, automation)
    assert [d["status"] for d in listed] == [
        "skipped",
        "succeeded",
        "skipped",
        "succeeded",
        "succeeded",
    ]


async def test_concurrent_runs_never_pass_the_cap(client: Any) -> None:
    await agent(client)
    automation = await save(client, {"type": "post_message", "to": "a1", "body": "x"}, maxPerHour=3)
    statuses: list[str] = []

    async def one() -> None:
        statuses.append((await run(client, automation))["status"])

    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(one)
    assert sorted(statuses) == ["skipped"] * 7 + ["succeeded"] * 3


async def test_the_cap_counts_runs_from_before_a_restart(open_app: Any) -> None:
    async with open_app() as app:
        client = app.test_client()
        await agent(client)
        automation = await save(
            client, {"type": "post_message", "to": "a1", "body": "x"}, maxPerHour=1
        )
        assert (await run(client, automation))["status"] == "succeeded"
    async with open_app() as app:
        client = app.test_client()
        assert (await run(client, automation))["status"] == "skipped"


async def run_schedule(client: Any) -> dict[str, Any]:
    response = await client.post("/api/maintenance/jobs/automation-schedule/run", headers=H)
    assert response.status_code == 200, await response.get_data()
    result: dict[str, Any] = (await response.get_json())["result"]
    return result


async def test_a_schedule_runs_once_when_due_without_catching_up(
    client: Any, clock: ManualClock
) -> None:
    await agent(client)
    automation = await save(
        client,
        {"type": "post_message", "to": "a1", "body": "tick {{now}}"},
        trigger={"type": "schedule", "everySeconds": 60},
    )
    assert (await run_schedule(client))["dispatched"] == 0
    clock.advance(59)
    assert (await run_schedule(client))["dispatched"] == 0
    clock.advance(1)
    assert (await run_schedule(client))["dispatched"] == 1
    assert (await run_schedule(client))["dispatched"] == 0
    [dispatch] = await dispatches(client, automation)
    assert dispatch["trigger"] == "schedule"
    assert dispatch["status"] == "succeeded"
    clock.advance(10 * 60)  # ten periods missed: one run, then one period on
    assert (await run_schedule(client))["dispatched"] == 1
    assert (await run_schedule(client))["dispatched"] == 0
    url = f"/api/automations/{automation['id']}"
    stored = await (await client.get(url, headers=H)).get_json()
    assert stored["nextRunAt"] == clock.now_ms() + 60_000
    assert len(await dispatches(client, automation)) == 2
    # A disabled schedule does not run; an event schedule is never due.
    await client.patch(url, json={"enabled": False}, headers=H)
    clock.advance(60)
    assert (await run_schedule(client))["dispatched"] == 0


async def test_concurrent_schedule_runs_dispatch_a_due_run_once(
    client: Any, clock: ManualClock, services: Services
) -> None:
    await agent(client)
    automation = await save(
        client,
        {"type": "post_message", "to": "a1", "body": "x"},
        trigger={"type": "schedule", "everySeconds": 60},
    )
    clock.advance(60)
    counted: list[int] = []

    async def one() -> None:
        counted.append((await automations.automation_schedule(services.runtime))["dispatched"])

    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(one)
    assert sorted(counted) == [0] * 9 + [1]
    assert len(await dispatches(client, automation)) == 1


async def test_dispatches_are_listed_newest_first_and_only_the_newest_kept(
    open_app: Any,
) -> None:
    async with open_app(automation_dispatch_keep=3) as app:
        client = app.test_client()
        await agent(client)
        automation = await save(client, {"type": "post_message", "to": "a1", "body": "x"})
        ids = [(await run(client, automation))["id"] for _ in range(5)]
        listed = await dispatches(client, automation)
        assert [d["id"] for d in listed] == ids[::-1][:3]
        assert [d["id"] for d in await dispatches(client, automation, limit=2)] == ids[::-1][:2]
        response = await client.get(
            f"/api/automations/{automation['id']}/dispatches?limit=0", headers=H
        )
        assert response.status_code == 400


async def test_each_dispatch_is_a_stream_event(client: Any) -> None:
    automation = await save(client, {"type": "post_message", "channelId": "nope", "body": "x"})
    async with open_stream(client, {"view": "automations"}) as stream:
        result = await run(client, automation)
        [frame] = await stream.events(1)
    assert frame.event == "automation"
    assert frame.data == {"change": "dispatched", "dispatch": result}


async def test_a_run_whose_result_cannot_be_kept_is_503(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    automation = await save(client, {"type": "post_message", "channelId": "nope", "body": "x"})

    async def down(*_args: Any) -> Any:
        raise Unavailable("store unavailable")

    real = automation_store.insert_dispatch
    monkeypatch.setattr(automation_store, "insert_dispatch", down)
    response = await client.post(f"/api/automations/{automation['id']}/run", headers=H)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    monkeypatch.setattr(automation_store, "insert_dispatch", real)
    assert await dispatches(client, automation) == []
    assert (await run(client, automation))["status"] == "failed"
