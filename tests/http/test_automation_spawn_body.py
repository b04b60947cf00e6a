"""An automation's spawn is held to the spawn route's body: what ``POST
/api/orchestrators/:id/spawn`` refuses (400) an automation does not queue; its dispatch is
recorded ``failed`` with the route's message."""

from __future__ import annotations

from typing import Any

from tests.http.helpers import H, register_orchestrator
from tests.http.integration_setup import (  # noqa: F401  (app: the app with integration ci)
    CI_H,
    app,
    save_automation,
)


async def _spawn_commands(client: Any, target: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/commands?target={target}", headers=H)
    assert response.status_code == 200, await response.get_data()
    return [c for c in await response.get_json() if c["type"] == "agent.spawn"]


async def _spawner(client: Any, policy_value: dict[str, Any]) -> dict[str, Any]:
    await register_orchestrator(client, "o1", "/srv/o1")
    policy = {"value": policy_value}
    put = await client.put("/api/config/spawn-policies/p1", json=policy, headers=H)
    assert put.status_code in (200, 201), await put.get_data()
    action = {
        "type": "spawn_agent",
        "orchestratorId": "o1",
        "policyName": "p1",
        "label": "{{event.payload.title}}",
    }
    return await save_automation(client, "spawner", action)


async def _deliver(client: Any, title: str) -> dict[str, Any]:
    response = await client.post(
        "/api/integrations/ci/events",
        json={"type": "build.failed", "payload": {"title": title}},
        headers={**CI_H, "X-Delivery-Id": f"d-{len(title)}"},
    )
    assert response.status_code == 201, await response.get_data()
    [dispatch] = (await response.get_json())["dispatches"]
    found: dict[str, Any] = dispatch
    return found


async def test_a_templated_spawn_label_is_held_to_the_spawn_routes_limit(client: Any) -> None:
    """The spawn route refuses a label over 200 characters; an event whose title makes the
    automation's templated label 5,000 characters long gets a failed dispatch with the
    route's message, and nothing is queued. A title within the limit spawns."""
    saved = await _spawner(client, {"provider": "claude", "cwd": "/srv/o1/work"})
    long_label = "x" * 5000
    spawn = {"provider": "claude", "cwd": "/srv/o1/work", "policyName": "p1", "label": long_label}
    direct = await client.post("/api/orchestrators/o1/spawn", json=spawn, headers=H)
    assert direct.status_code == 400
    message = (await direct.get_json())["error"]

    dispatch = await _deliver(client, long_label)
    assert dispatch["automationId"] == saved["id"]
    assert (dispatch["status"], dispatch["error"]) == ("failed", message)
    assert await _spawn_commands(client, "o1") == []

    fine = await _deliver(client, "nightly")
    assert fine["status"] == "succeeded", fine
    [command] = await _spawn_commands(client, "o1")
    assert command["params"]["label"] == "nightly"


async def test_a_spawn_policy_the_route_would_refuse_fails_the_dispatch(client: Any) -> None:
    """A policy whose provider the spawn route does not know is refused as the route
    refuses it (400 there, a failed dispatch here), and nothing is queued."""
    await _spawner(client, {"provider": "vim", "cwd": "/srv/o1/work"})
    spawn = {"provider": "vim", "cwd": "/srv/o1/work", "policyName": "p1"}
    direct = await client.post("/api/orchestrators/o1/spawn", json=spawn, headers=H)
    assert direct.status_code == 400
    dispatch = await _deliver(client, "t")
    assert (dispatch["status"], dispatch["error"]) == ("failed", (await direct.get_json())["error"])
    assert await _spawn_commands(client, "o1") == []
