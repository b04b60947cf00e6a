"""GET /api/commands for a constrained caller: ``limit`` counts the commands it may see,
never the newer ones of others it skips."""

from __future__ import annotations

from typing import Any

import pytest

from relay.clock import ManualClock
from relay.http import commands as command_routes
from relay.store import commands as command_store
from tests.conftest import bearer
from tests.http.helpers import H, create_command, register_orchestrator
from tests.http.test_agent_actions import register_agent


async def listed(client: Any, query: str, headers: Any = None) -> list[str]:
    response = await client.get(f"/api/commands?{query}", headers=headers or H)
    assert response.status_code == 200, await response.get_data()
    return [command["id"] for command in await response.get_json()]


async def fleet(client: Any, clock: ManualClock, *, step: float = 0.001) -> list[str]:
    """a1 under o1, a2 under o2; five commands for a1 (alternately ``x`` and ``y``), then
    ten newer ones for a2. The ids of a1's, newest first."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    await register_agent(client, "a1", orchestratorId="o1")
    await register_agent(client, "a2", orchestratorId="o2")
    visible = []
    for i in range(5):
        clock.advance(step)
        visible.append((await create_command(client, target="a1", type_="xy"[i % 2]))["id"])
    for _ in range(10):
        clock.advance(step)
        await create_command(client, target="a2", type_="x")
    return visible[::-1]


def agent_a1(mint: Any) -> dict[str, str]:
    return bearer(mint(["command:read"], {"agents": ["a1"]}))


def orchestrator_o1(mint: Any) -> dict[str, str]:
    return bearer(mint(["command:read"], {"orchestrators": ["o1"]}, role="orchestrator"))


async def test_a_constrained_page_holds_limit_visible_commands(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    newest_first = await fleet(client, clock)
    for token in (agent_a1(mint), orchestrator_o1(mint)):
        assert await listed(client, "limit=3", token) == newest_first[:3]
        assert await listed(client, "limit=1", token) == newest_first[:1]


async def test_the_limit_still_bounds_the_reply(client: Any, clock: ManualClock, mint: Any) -> None:
    newest_first = await fleet(client, clock)
    assert len(await listed(client, "limit=4")) == 4  # root: one query, as before
    assert len(await listed(client, "")) == 15
    for token in (agent_a1(mint), orchestrator_o1(mint)):
        assert await listed(client, "limit=10", token) == newest_first
        assert await listed(client, "limit=5", token) == newest_first


async def test_the_filters_hold_on_every_batch(client: Any, clock: ManualClock, mint: Any) -> None:
    newest_first = await fleet(client, clock)
    of_type_x = [newest_first[i] for i in (0, 2, 4)]  # created 5th, 3rd and 1st
    for token in (agent_a1(mint), orchestrator_o1(mint)):
        assert await listed(client, "type=x&limit=2", token) == of_type_x[:2]
        assert await listed(client, "type=y&limit=5", token) == [newest_first[i] for i in (1, 3)]
        assert await listed(client, "agentId=a1&status=queued&limit=2", token) == newest_first[:2]
        assert await listed(client, "target=a2&limit=3", token) == []


async def test_commands_of_the_same_millisecond_page_in_order(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    """The batches continue after the last row read, also within one ``createdAt``."""
    visible = set(await fleet(client, clock, step=0))
    in_order = [c for c in await listed(client, "limit=100") if c in visible]
    assert len(in_order) == 5
    for token in (agent_a1(mint), orchestrator_o1(mint)):
        assert await listed(client, "limit=3", token) == in_order[:3]
        assert await listed(client, "limit=5", token) == in_order


async def test_the_scan_is_bounded(
    client: Any, clock: ManualClock, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``_MAX_SCANNED`` rows read, the page is answered as it stands."""
    newest_first = await fleet(client, clock)
    monkeypatch.setattr(command_routes, "_BATCH", 2)
    monkeypatch.setattr(command_routes, "_MAX_SCANNED", 11)
    # o1's token reads a2's ten rows (their owner is judged after the store), then one of
    # a1's before it stops.
    assert await listed(client, "limit=2", orchestrator_o1(mint)) == newest_first[:1]
    monkeypatch.setattr(command_routes, "_MAX_SCANNED", 12)
    assert await listed(client, "limit=2", orchestrator_o1(mint)) == newest_first[:2]


async def test_who_sees_every_command_is_answered_by_one_query(
    client: Any, clock: ManualClock, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    newest_first = await fleet(client, clock)
    calls: list[dict[str, Any]] = []
    search = command_store.search

    async def counted(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return await search(**kwargs)

    monkeypatch.setattr(command_store, "search", counted)
    unconstrained = bearer(mint(["command:read"]))
    for headers in (H, unconstrained):
        calls.clear()
        assert len(await listed(client, "limit=3", headers)) == 3
        assert [(c["targets"], c["before"], c["limit"]) for c in calls] == [(None, None, 3)]
    # An agent's token: the store leaves out the agents it does not name.
    calls.clear()
    assert await listed(client, "limit=3", agent_a1(mint)) == newest_first[:3]
    assert len(calls) == 1
