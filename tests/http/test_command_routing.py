"""Routing from memory: open commands and orchestrator ids, with the store as the fallback."""

from __future__ import annotations

from typing import Any

from relay.actors.commands.flows import resolve_target
from relay.http.services import Services
from tests.http.helpers import H, create_command, patch_command, poll, register_orchestrator


async def test_an_open_command_is_routed_from_memory_until_it_settles(
    client: Any, services: Services
) -> None:
    routing = services.runtime.routing
    await register_orchestrator(client)
    command = await create_command(client)

    assert routing.command_target(command["id"]) == ("orchestrator", "o1")

    await poll(client)
    await patch_command(client, command["id"], "succeeded")

    assert routing.command_target(command["id"]) is None
    again = await patch_command(client, command["id"], "failed")  # found in the store
    assert again.status_code == 409
    assert await again.get_json() == {"error": "command already settled"}


async def test_a_command_unknown_to_memory_is_settled_through_the_store(
    client: Any, services: Services
) -> None:
    await register_orchestrator(client)
    command = await create_command(client)
    await poll(client)
    services.runtime.routing.command_settled(command["id"])  # as after a restart

    response = await patch_command(client, command["id"], "succeeded")

    assert response.status_code == 200
    assert (await response.get_json())["command"]["status"] == "succeeded"


async def test_an_unknown_command_is_still_404(client: Any) -> None:
    response = await patch_command(client, "cmd_nope", "succeeded")

    assert response.status_code == 404
    assert await response.get_json() == {"error": "command not found"}


async def test_only_orchestrator_ids_are_remembered(client: Any, services: Services) -> None:
    routing = services.runtime.routing
    await register_orchestrator(client, agentId="orch-agent-1")
    await client.post("/api/agents", json={"id": "plain-agent"}, headers=H)

    assert routing.is_orchestrator("o1")
    assert await resolve_target(services.runtime, "orch-agent-1") == ("orchestrator", "o1")
    assert await resolve_target(services.runtime, "plain-agent") == ("agent", "plain-agent")
    assert not routing.is_orchestrator("orch-agent-1")  # an agent id can move
    assert not routing.is_orchestrator("plain-agent")
