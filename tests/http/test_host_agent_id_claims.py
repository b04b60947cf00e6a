"""An agent id that some host registered as its ``agentId``. Commands addressed to that id
reach that host's channel (api.md: a target is an orchestrator id, its ``agentId``, or an
agent id), so an agent registered under that id on another host (or on none) would never
be sent its own commands, and the claiming host would take every one: such a
registration is refused with 409 and nothing is stored. The claiming host's own agent
registers under the id as before."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator


async def test_an_agent_is_not_registered_under_another_hosts_agent_id(client: Any) -> None:
    """o1's runtime token claims ``bob`` as o1's agent id first; o2 then registering its
    agent ``bob`` gets 409 (told, rather than losing its commands to o1) and no card is
    stored."""
    o1 = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    o2 = bearer((await register_orchestrator(client, "o2", "/srv/o2"))["token"])
    claim = {"id": "o1", "baseDir": "/srv/o1", "agentId": "bob"}
    assert (await client.post("/api/orchestrators", json=claim, headers=o1)).status_code == 200
    bob = {"id": "bob", "orchestratorId": "o2", "meta": {"cwd": "/srv/o2/app"}}
    registered = await client.post("/api/agents", json=bob, headers=o2)
    stored = await client.get("/api/agents/bob", headers=H)
    assert (registered.status_code, await registered.get_json(), stored.status_code) == (
        409,
        {"error": "agent id bob is the agentId of orchestrator o1"},
        404,
    )


async def test_an_agent_under_no_host_is_not_registered_under_a_hosts_agent_id(
    client: Any,
) -> None:
    """Root too: a card under no orchestrator may not take a host's ``agentId`` (409)."""
    await register_orchestrator(client, "o1", "/srv/o1", agentId="o1-agent")
    response = await client.post("/api/agents", json={"id": "o1-agent"}, headers=H)
    assert response.status_code == 409


async def test_a_hosts_own_agent_registers_under_its_agent_id(client: Any) -> None:
    """The host's own agent, registered under that host, takes the id (201), and
    re-registers (200)."""
    await register_orchestrator(client, "o1", "/srv/o1", agentId="o1-agent")
    card = {"id": "o1-agent", "orchestratorId": "o1", "meta": {"cwd": "/srv/o1"}}
    first = await client.post("/api/agents", json=card, headers=H)
    again = await client.post("/api/agents", json=card, headers=H)
    assert (first.status_code, again.status_code) == (201, 200)


async def test_an_agent_is_not_moved_onto_another_hosts_agent_id(client: Any) -> None:
    """An agent stored under o1 with o2's ``agentId`` as its id (o2 claimed it later, as
    root may) is not moved to a third host (409); it stays where it is."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o3", "/srv/o3")
    card = {"id": "shared", "orchestratorId": "o1"}
    assert (await client.post("/api/agents", json=card, headers=H)).status_code == 201
    await register_orchestrator(client, "o2", "/srv/o2", agentId="shared")
    moved = await client.post("/api/agents", json={**card, "orchestratorId": "o3"}, headers=H)
    stored = await (await client.get("/api/agents/shared", headers=H)).get_json()
    assert (moved.status_code, stored["orchestratorId"]) == (409, "o1")


async def test_a_hosts_own_agent_naming_its_host_by_agent_id_registers(client: Any) -> None:
    """A card's ``orchestratorId`` may name a host by its agentId where no host has that id
    (README): o1 (agentId ``o1-agent``) registers its own agent ``o1-agent`` naming its host
    so. The card is o1's, and commands to ``o1-agent`` reach o1, as meant: 201."""
    await register_orchestrator(client, "o1", "/srv/o1", agentId="o1-agent")
    card = {"id": "o1-agent", "orchestratorId": "o1-agent", "meta": {"cwd": "/srv/o1"}}
    response = await client.post("/api/agents", json=card, headers=H)
    assert response.status_code == 201, await response.get_json()
