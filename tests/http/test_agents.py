"""Agent routes, black-box through the test client."""

from __future__ import annotations

from typing import Any

import pytest

from relay.clock import ManualClock
from tests.conftest import root_headers

H = root_headers()


async def register(client: Any, agent_id: str = "a1", **fields: Any) -> Any:
    return await client.post("/api/agents", json={"id": agent_id, **fields}, headers=H)


async def test_register_creates_then_refreshes(client: Any, clock: ManualClock) -> None:
    first = await register(client, name="Builder", tags=["x"], meta={"provider": "claude"})
    assert first.status_code == 201
    card = await first.get_json()
    assert card["id"] == "a1"
    assert card["name"] == "Builder"
    assert card["status"] == "online"
    assert card["heartbeatIntervalSeconds"] == 10
    assert card["registeredAt"] == clock.now_ms()

    clock.advance(5)
    again = await register(client, meta={"model": "opus"})
    assert again.status_code == 200
    card = await again.get_json()
    assert card["name"] == "Builder"  # kept: not sent again
    assert card["meta"] == {"provider": "claude", "model": "opus"}
    assert card["lastSeenAt"] == clock.now_ms()
    assert card["registeredAt"] == clock.now_ms() - 5000


async def test_heartbeat_marks_online(client: Any, clock: ManualClock) -> None:
    await register(client)
    clock.advance(3)
    response = await client.post("/api/agents/a1/heartbeat", headers=H)
    assert response.status_code == 200
    assert (await response.get_json())["lastSeenAt"] == clock.now_ms()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/agents/nope/heartbeat"),
        ("get", "/api/agents/nope"),
        ("patch", "/api/agents/nope"),
        ("delete", "/api/agents/nope"),
        ("get", "/api/agents/nope/timeline"),
        ("post", "/api/agents/nope/timeline"),
    ],
)
async def test_unknown_agent_is_404(client: Any, method: str, path: str) -> None:
    body = {"title": "t"} if path.endswith("timeline") else {"ready": True}
    kwargs: dict[str, Any] = {"headers": H}
    if method in ("patch", "post") and "heartbeat" not in path:
        kwargs["json"] = body
    response = await getattr(client, method)(path, **kwargs)
    assert response.status_code == 404
    assert await response.get_json() == {"error": "agent not found"}
