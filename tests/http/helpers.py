"""Small helpers shared by HTTP tests."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from quart.testing.connections import WebsocketResponseError

from relay.domain.activity import ActivityInput
from tests.conftest import root_headers

H = root_headers()


async def register_orchestrator(
    client: Any, orchestrator_id: str = "o1", base_dir: str = "/srv/o1", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/orchestrators", json={"id": orchestrator_id, "baseDir": base_dir, **fields}, headers=H
    )
    assert response.status_code in (200, 201), await response.get_data()
    body: dict[str, Any] = await response.get_json()
    return body


async def two_hosts(client: Any, *o2_agents: str) -> str:
    """Orchestrators o1 (/srv/o1) and o2 (/srv/o2), these agents registered on o2; returns
    o1's runtime token (limited to o1 and its baseDir)."""
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    for agent_id in o2_agents:
        body = {"id": agent_id, "orchestratorId": "o2"}
        response = await client.post("/api/agents", json=body, headers=H)
        assert response.status_code == 201, await response.get_data()
    token: str = o1["token"]
    return token


async def create_command(
    client: Any, target: str = "o1", type_: str = "test.noop", headers: Any = None, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/commands", json={"type": type_, "target": target, **fields}, headers=headers or H
    )
    assert response.status_code == 201, await response.get_data()
    command: dict[str, Any] = (await response.get_json())["command"]
    return command


async def poll(client: Any, target: str = "o1", wait: int = 0, headers: Any = None) -> Any:
    response = await client.get(
        f"/api/orchestrators/{target}/commands?wait={wait}", headers=headers or H
    )
    assert response.status_code == 200, await response.get_data()
    return await response.get_json()


async def patch_command(
    client: Any, command_id: str, status: str, headers: Any = None, **fields: Any
) -> Any:
    return await client.patch(
        f"/api/commands/{command_id}", json={"status": status, **fields}, headers=headers or H
    )


# The module, not the ``audit`` function that ``relay.actors.runtime`` exports under its name.
_runtime_audit = importlib.import_module("relay.actors.runtime.audit")


def fail_audit_titled(monkeypatch: pytest.MonkeyPatch, title: str) -> None:
    """Make the store refuse every audit row called ``title`` (the rest are written)."""
    append = _runtime_audit.append_row

    async def refusing(event: ActivityInput, now: int) -> Any:
        if event.title == title:
            raise RuntimeError(f"audit insert of {title!r} failed")
        return await append(event, now)

    monkeypatch.setattr(_runtime_audit, "append_row", refusing)


async def websocket_refusals(client: Any, path: str, headers: Any) -> list[Any]:
    """The HTTP responses a WebSocket handshake on ``path`` is refused with (none: it
    opened and sent something)."""
    refusals: list[WebsocketResponseError] = []
    try:
        async with client.websocket(path, headers=headers) as ws:
            await ws.receive()
    except* WebsocketResponseError as group:
        refusals = [e for e in group.exceptions if isinstance(e, WebsocketResponseError)]
    return [refusal.response for refusal in refusals]
