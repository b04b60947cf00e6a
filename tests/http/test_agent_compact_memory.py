"""A compact names the memories to reload: ``params.memoryReload`` from the card's tags."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.helpers import H, poll, register_orchestrator

RELOAD_STYLE = "memory-reload:style"
LIFECYCLE = {"compact": True, "clearContext": True}


async def compact_params(client: Any, **card: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/agents",
        json={"id": "a1", "providerCapabilities": {"lifecycle": LIFECYCLE}, **card},
        headers=H,
    )
    assert response.status_code in (200, 201), await response.get_data()
    response = await client.post("/api/agents/a1/actions", json={"action": "compact"}, headers=H)
    assert response.status_code == 202, await response.get_data()
    params: dict[str, Any] = (await response.get_json())["command"]["params"]
    return params


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([], []),
        (["team-a"], []),
        (
            ["memory-reload:style", "team", "memory-reload:", "memory-reload:build", RELOAD_STYLE],
            ["style", "build"],
        ),
    ],
)
async def test_compact_carries_memory_reload_from_the_cards_tags(
    client: Any, tags: list[str], expected: list[str]
) -> None:
    params = await compact_params(client, tags=tags)
    assert params["memoryReload"] == expected


async def test_managed_compact_hands_memory_reload_to_the_orchestrator(client: Any) -> None:
    await register_orchestrator(client)
    params = await compact_params(
        client,
        tags=["memory-reload:deploy"],
        orchestratorId="o1",
        meta={"runnerManaged": True, "provider": "claude"},
    )
    [command] = await poll(client)
    assert command["type"] == "agent.compact"
    assert command["params"]["memoryReload"] == params["memoryReload"] == ["deploy"]


async def test_other_actions_carry_no_memory_reload(client: Any) -> None:
    await compact_params(client, tags=["memory-reload:style"])
    response = await client.post(
        "/api/agents/a1/actions", json={"action": "clearContext"}, headers=H
    )
    assert response.status_code == 202
    assert "memoryReload" not in (await response.get_json())["command"]["params"]
