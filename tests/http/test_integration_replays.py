"""A repeated integration delivery (spec/tasks.md: the same reply, nothing new dispatched)
after an outage: it runs what the first delivery triggered and could not keep, once, and
nothing saved since; a run repeated so renders and posts what it did the first time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from relay.clock import ManualClock
from relay.errors import Unavailable
from relay.http.app import create_app
from relay.settings import IntegrationToken, Settings
from relay.store import automations as automation_store
from tests.conftest import bearer
from tests.http.helpers import H

CI = "ci-integration-token-review-0123456789"
CI_H = bearer(CI)
TOKENS = [IntegrationToken(name="ci", token=CI, scopes=(), per_minute=1000)]


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Any]:
    application = create_app(
        settings.model_copy(update={"integration_tokens": TOKENS}), clock=clock
    )
    async with application.test_app() as test_app:
        yield test_app


async def agent(client: Any, agent_id: str) -> None:
    response = await client.post("/api/agents", json={"id": agent_id, "name": agent_id}, headers=H)
    assert response.status_code in (200, 201), await response.get_data()


async def automation(client: Any, name: str, action: dict[str, Any]) -> dict[str, Any]:
    saved = {
        "name": name,
        "trigger": {"type": "event", "eventType": "build.failed"},
        "action": action,
    }
    response = await client.post("/api/automations", json=saved, headers=H)
    assert response.status_code == 201, await response.get_data()
    created: dict[str, Any] = await response.get_json()
    return created


def message_to(to: str, body: str) -> dict[str, Any]:
    return {"type": "post_message", "to": to, "body": body}


def task_titled(title: str) -> dict[str, Any]:
    return {"type": "create_task", "task": {"title": title}}


async def deliver(client: Any, delivery: str) -> Any:
    return await client.post(
        "/api/integrations/ci/events",
        json={"type": "build.failed"},
        headers={**CI_H, "X-Delivery-Id": delivery},
    )


async def inbox_bodies(client: Any, agent_id: str) -> list[str]:
    response = await client.get(f"/api/agents/{agent_id}/inbox?peek=true", headers=H)
    assert response.status_code == 200, await response.get_data()
    return [item["message"]["body"] for item in (await response.get_json())["items"]]


async def task_titles(client: Any) -> list[str]:
    response = await client.get("/api/tasks", headers=H)
    assert response.status_code == 200, await response.get_data()
    return sorted(t["title"] for t in await response.get_json())


def fail_dispatch_records_of(monkeypatch: pytest.MonkeyPatch, automation_id: str) -> Any:
    """The store goes down just as this automation's dispatch result is written; the real
    writer is returned, to put back."""
    real = automation_store.insert_dispatch

    async def down_for_one(result: Any, *args: Any) -> Any:
        if result.automation_id == automation_id:
            raise Unavailable("store unavailable")
        return await real(result, *args)

    monkeypatch.setattr(automation_store, "insert_dispatch", down_for_one)
    return real


# -- a repeated delivery dispatches nothing new -------------------------------------------


async def test_a_repeated_delivery_does_not_run_an_automation_saved_after_the_first(
    client: Any,
) -> None:
    """spec/tasks.md: a repeated X-Delivery-Id → 200, the same, "nothing dispatched". The
    replay now dispatches every triggered automation without a kept result for the event,
    so one saved (or enabled, or retargeted) after the event arrived runs on the old event
    when the integration merely retries a delivery it already got a 201 for."""
    await agent(client, "a1")
    first = await automation(client, "a-first", message_to("a1", "from a-first"))
    response = await deliver(client, "d-1")
    assert response.status_code == 201, await response.get_data()
    assert [d["automationId"] for d in (await response.get_json())["dispatches"]] == [first["id"]]
    await automation(client, "b-later", message_to("a1", "from b-later"))

    replay = await deliver(client, "d-1")
    assert replay.status_code == 200, await replay.get_data()
    got = await replay.get_json()
    assert [d["automationId"] for d in got["dispatches"]] == [first["id"]], got
    assert await inbox_bodies(client, "a1") == ["from a-first"]


async def test_a_replayed_message_with_a_time_in_its_body_is_not_recorded_as_failed(
    client: Any, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The once-key <automation>:<event> makes the replay's send a repeat, but a body that
    renders {{now}} differs on the replay: the send is refused 409 ("clientMessageId already
    used for a different message") and the dispatch is kept as failed (with a "dispatch
    failed" audit) though its message was posted. The replay's result must be the message
    posted first."""
    await agent(client, "a1")
    saved = await automation(client, "stamp", message_to("a1", "build failed at {{now}}"))
    real = fail_dispatch_records_of(monkeypatch, saved["id"])
    cut = await deliver(client, "d-1")
    assert cut.status_code == 503, await cut.get_data()
    monkeypatch.setattr(automation_store, "insert_dispatch", real)
    clock.advance(5)

    replay = await deliver(client, "d-1")
    assert replay.status_code == 200, await replay.get_data()
    [dispatch] = (await replay.get_json())["dispatches"]
    assert (dispatch["status"], dispatch.get("error")) == ("succeeded", None), dispatch
    assert len(await inbox_bodies(client, "a1")) == 1


async def test_a_replay_after_a_restart_does_not_run_an_automation_again(
    open_app: Any,
) -> None:
    """After a restart the actor's (event, automation) memory is gone, and the store keeps
    only an automation's newest RELAY_AUTOMATION_DISPATCH_KEEP results: the retry of an
    older delivery finds no kept result and runs the automation again (a second task)."""
    overrides = {"integration_tokens": TOKENS, "automation_dispatch_keep": 1}
    async with open_app(**overrides) as app:
        client = app.test_client()
        await automation(client, "file-it", task_titled("build failed"))
        assert (await deliver(client, "d-1")).status_code == 201
        assert (await deliver(client, "d-2")).status_code == 201
        assert await task_titles(client) == ["build failed", "build failed"]
    async with open_app(**overrides) as app:
        client = app.test_client()
        replay = await deliver(client, "d-1")
        assert replay.status_code == 200, await replay.get_data()
        assert await task_titles(client) == ["build failed", "build failed"]
