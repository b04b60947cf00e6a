"""Memory events judged per event: what that costs with many agents, and a relay whose
start-up read of the agents failed."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.runtime.directory import AgentDirectory
from relay.auth.tokens import TokenSpec
from relay.clock import ManualClock
from relay.errors import Unavailable
from relay.http.app import create_app
from relay.settings import Settings
from relay.store import agents as agent_store
from tests.conftest import bearer, services_of
from tests.http.helpers import H, register_orchestrator
from tests.http.sse_client import open_stream
from tests.http.test_memory import created
from tests.http.test_memory_events import next_memory_event
from tests.http.test_pairs import agent

MEMORY_SCOPES = ["memory:read", "memory:write", "activity:read"]


def orchestrator_token(mint: Any, orchestrator_id: str) -> dict[str, str]:
    grant = {"orchestrators": [orchestrator_id]}
    return bearer(mint(MEMORY_SCOPES, grant, sub=orchestrator_id, role="orchestrator"))


async def test_a_memory_event_costs_no_look_up_per_stored_agent(
    client: Any, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """o3's stream opened before its agent a3 was registered (an orchestrator starting
    up, then spawning). 60 agents of o2 are stored before a3. Each memory event is judged
    for o3's stream without looking up every stored agent: the look-ups it costs do not
    grow with agents that are not o3's (here: at most 5 per event)."""
    await register_orchestrator(client, "o2")
    await register_orchestrator(client, "o3")
    for i in range(60):
        await agent(client, f"b{i}", orchestratorId="o2")
    looked_up: list[str] = []
    known = AgentDirectory.known

    def counting(self: AgentDirectory, agent_ids: Any) -> Any:
        wanted = list(agent_ids)
        looked_up.extend(wanted)
        return known(self, wanted)

    o3 = orchestrator_token(mint, "o3")
    async with open_stream(client, headers=o3) as stream, open_stream(client) as root:
        await agent(client, "a3", orchestratorId="o3")
        monkeypatch.setattr(AgentDirectory, "known", counting)
        ids = [(await created(client, title=f"note {i}"))["id"] for i in range(4)]
        for memory_id in ids:
            assert (await next_memory_event(stream))["memory"]["id"] == memory_id
            assert (await next_memory_event(root))["memory"]["id"] == memory_id
        monkeypatch.undo()
    assert len(looked_up) <= 5 * len(ids), len(looked_up)


async def test_after_a_restart_whose_agent_recovery_failed_a_stream_gets_memory_events(
    settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relay restarts while the store briefly refuses the start-up read of the agents
    (logged, not fatal). Once the store answers again, o1's token reads a new repo memory
    in a1's working directory (GET 200), and o1's open stream carries that memory's
    event (a1 missing from memory is judged as the stream's opening judged it): the next
    memory event it gets is that one, not the one written after a1's card was written
    again."""
    first = create_app(settings, clock=clock)
    async with first.test_app() as app:
        client = app.test_client()
        await register_orchestrator(client, "o1")
        await agent(client, "a1", orchestratorId="o1", meta={"cwd": "/srv/one"})

    async def down(*_args: Any, **_kwargs: Any) -> Any:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(agent_store, "placements", down)
    second = create_app(settings, clock=clock)
    async with second.test_app() as app:
        monkeypatch.undo()
        client = app.test_client()
        spec = TokenSpec(
            sub="o1",
            role="orchestrator",
            scope=tuple(MEMORY_SCOPES),
            constraints={"orchestrators": ["o1"]},
        )
        o1 = bearer(services_of(app).auth.mint(spec)[0])
        async with open_stream(client, headers=o1) as stream, open_stream(client) as root:
            plan = (await created(client, scope="repo", scopeKey="/srv/one", title="plan"))["id"]
            got = await client.get(f"/api/memory/{plan}", headers=o1)
            assert got.status_code == 200, await got.get_data()
            # Fanned out to every stream (root's got it) before a1 is recorded again.
            assert (await next_memory_event(root))["memory"]["id"] == plan
            card = {"id": "a1", "name": "a1", "orchestratorId": "o1", "meta": {"cwd": "/srv/one"}}
            again = await client.post("/api/agents", json=card, headers=H)
            assert again.status_code in (200, 201), await again.get_data()
            await created(client, scope="repo", scopeKey="/srv/one", title="later")
            assert (await next_memory_event(stream))["memory"]["id"] == plan
