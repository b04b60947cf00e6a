"""GET /api/commands?agentId=: commands addressed to an agent or carried out for it."""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from tests.conftest import bearer
from tests.http.helpers import H, create_command, register_orchestrator
from tests.http.test_agent_actions import CLAUDE_META, LIFECYCLE_ALL, act, register_agent


async def listed(client: Any, query: str, headers: Any = None) -> list[str]:
    response = await client.get(f"/api/commands?{query}", headers=headers or H)
    assert response.status_code == 200, await response.get_data()
    return [command["id"] for command in await response.get_json()]


async def fleet(client: Any, clock: ManualClock) -> dict[str, str]:
    """a1 managed by o1, a2 managed by o2, a3 on its own channel; one command of each kind."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    capabilities = {"lifecycle": LIFECYCLE_ALL}
    await register_agent(client, "a1", orchestratorId="o1", meta=CLAUDE_META)
    a2_meta = {**CLAUDE_META, "cwd": "/srv/o2/repo"}  # within o2's baseDir, as a respawn must be
    await register_agent(client, "a2", orchestratorId="o2", meta=a2_meta)
    await register_agent(client, "a3", providerCapabilities=capabilities)
    ids: dict[str, str] = {}
    for name, agent in (("a1-restart", "a1"), ("a2-restart", "a2"), ("a3-compact", "a3")):
        clock.advance(1)
        action = name.split("-")[1]
        response = await act(client, action, agent_id=agent)
        assert response.status_code == 202, await response.get_data()
        ids[name] = (await response.get_json())["command"]["id"]
    clock.advance(1)
    ids["a1-direct"] = (await create_command(client, target="a1"))["id"]
    clock.advance(1)
    ids["o1-about-a1"] = (
        await create_command(
            client, target="o1", type_="workspace.create", params={"agentId": "a1"}
        )
    )["id"]
    clock.advance(1)
    ids["o1-plain"] = (await create_command(client, target="o1"))["id"]
    return ids


async def test_commands_about_an_agent_newest_first(client: Any, clock: ManualClock) -> None:
    ids = await fleet(client, clock)
    assert await listed(client, "agentId=a1") == [
        ids["o1-about-a1"],
        ids["a1-direct"],
        ids["a1-restart"],
    ]
    assert await listed(client, "agentId=a3") == [ids["a3-compact"]]
    assert await listed(client, "agentId=nobody") == []


async def test_the_agent_filter_combines_with_the_others(client: Any, clock: ManualClock) -> None:
    ids = await fleet(client, clock)
    assert await listed(client, "agentId=a1&type=agent.restart") == [ids["a1-restart"]]
    assert await listed(client, "agentId=a1&target=o1") == [ids["o1-about-a1"], ids["a1-restart"]]
    assert await listed(client, "agentId=a1&limit=1") == [ids["o1-about-a1"]]


async def test_a_constrained_token_sees_only_its_own(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    ids = await fleet(client, clock)
    o1 = bearer(mint(["command:read"], {"orchestrators": ["o1"]}))
    assert await listed(client, "agentId=a1", o1) == [
        ids["o1-about-a1"],
        ids["a1-direct"],
        ids["a1-restart"],
    ]
    assert await listed(client, "agentId=a2", o1) == []
    a3 = bearer(mint(["command:read"], {"agents": ["a3"]}))
    assert await listed(client, "agentId=a3", a3) == [ids["a3-compact"]]
    assert await listed(client, "agentId=a1", a3) == []


async def test_an_over_long_agent_id_is_400(client: Any) -> None:
    response = await client.get(f"/api/commands?agentId={'a' * 201}", headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": "agentId must be at most 200 characters"}


async def test_listing_by_agent_needs_command_read(client: Any, mint: Any) -> None:
    assert (await client.get("/api/commands?agentId=a1")).status_code == 401
    token = mint(["agent:read"])
    response = await client.get("/api/commands?agentId=a1", headers=bearer(token))
    assert response.status_code == 403
