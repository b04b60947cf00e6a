"""An app with one integration, ``ci``, and what tests of its deliveries and the
automations they dispatch share: delivering an event, saving an automation it triggers,
the store failing as one automation's result is kept.

A test module takes the app by importing ``app`` (it then overrides conftest's)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from relay.clock import ManualClock
from relay.errors import Unavailable
from relay.http.app import create_app
from relay.settings import IntegrationToken, Settings
from relay.store import automations as automation_store
from tests.conftest import bearer
from tests.http.helpers import H

CI = "ci-integration-token-0123456789"
CI_H = bearer(CI)
CI_TOKENS = [IntegrationToken(name="ci", token=CI, scopes=(), per_minute=1000)]
EVENT_TYPE = "build.failed"


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Any]:
    application = create_app(
        settings.model_copy(update={"integration_tokens": CI_TOKENS}), clock=clock
    )
    async with application.test_app() as test_app:
        yield test_app


async def agent(client: Any, agent_id: str) -> None:
    response = await client.post("/api/agents", json={"id": agent_id, "name": agent_id}, headers=H)
    assert response.status_code in (200, 201), await response.get_data()


async def save_automation(client: Any, name: str, action: dict[str, Any]) -> dict[str, Any]:
    """An enabled automation ``ci``'s ``build.failed`` events trigger."""
    saved = {"name": name, "trigger": {"type": "event", "eventType": EVENT_TYPE}}
    response = await client.post("/api/automations", json={**saved, "action": action}, headers=H)
    assert response.status_code == 201, await response.get_data()
    created: dict[str, Any] = await response.get_json()
    return created


def message_to(to: str, body: str) -> dict[str, Any]:
    return {"type": "post_message", "to": to, "body": body}


async def deliver(client: Any, delivery: str) -> Any:
    return await client.post(
        "/api/integrations/ci/events",
        json={"type": EVENT_TYPE},
        headers={**CI_H, "X-Delivery-Id": delivery},
    )


async def inbox_bodies(client: Any, agent_id: str) -> list[str]:
    response = await client.get(f"/api/agents/{agent_id}/inbox?peek=true", headers=H)
    assert response.status_code == 200, await response.get_data()
    return [item["message"]["body"] for item in (await response.get_json())["items"]]


def fail_dispatch_records_of(
    monkeypatch: pytest.MonkeyPatch, automation_id: str
) -> Callable[..., Awaitable[Any]]:
    """The store goes down just as this automation's dispatch result is written; the real
    writer is returned, to put back."""
    real = automation_store.insert_dispatch

    async def down_for_one(result: Any, *args: Any) -> Any:
        if result.automation_id == automation_id:
            raise Unavailable("store unavailable")
        return await real(result, *args)

    monkeypatch.setattr(automation_store, "insert_dispatch", down_for_one)
    return real


async def cut_off(
    client: Any, monkeypatch: pytest.MonkeyPatch, automation_id: str, delivery: str = "d-1"
) -> None:
    """Deliver ``delivery`` once, the store failing as this automation's result is kept:
    answered 503. The store is back afterwards, for the integration's retry."""
    real = fail_dispatch_records_of(monkeypatch, automation_id)
    cut = await deliver(client, delivery)
    assert cut.status_code == 503, await cut.get_data()
    monkeypatch.setattr(automation_store, "insert_dispatch", real)


async def dispatches(client: Any, automation_id: str) -> list[dict[str, Any]]:
    """An automation's kept dispatch results, newest first (as root reads them)."""
    response = await client.get(f"/api/automations/{automation_id}/dispatches", headers=H)
    assert response.status_code == 200, await response.get_data()
    found: list[dict[str, Any]] = await response.get_json()
    return found


async def two_due_schedules(client: Any, clock: ManualClock) -> dict[str, str]:
    """Agent a1, and two schedules messaging it ("a-first", "b-second") due now: their
    ids by name."""
    await agent(client, "a1")
    ids = {}
    for name in ("a-first", "b-second"):
        body = {
            "name": name,
            "trigger": {"type": "schedule", "everySeconds": 60},
            "action": message_to("a1", name),
        }
        response = await client.post("/api/automations", json=body, headers=H)
        assert response.status_code == 201, await response.get_data()
        ids[name] = (await response.get_json())["id"]
    clock.advance(60)
    return ids
