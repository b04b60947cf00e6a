"""Actors on demand: an idle agent's actor stops, and its next message brings it back intact.

Waiting for a stop is deterministic: ``ActorRef.actor_stopped`` is the threading.Event pykka
sets once the actor's thread is done, so the test waits on it (off the trio thread, bounded)
rather than polling ``is_live``. ``passivate_idle`` is a ``tell``, and an actor handles its
mailbox in order, so once a later ask to the *same* ref has been answered, the
``Passivate`` before it has been handled too.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

import pykka
import pytest
import trio

from relay.actors import agent
from relay.actors.agent import reap_agents
from relay.actors.orchestrator import reap_orchestrators
from relay.actors.runtime.registry import ActorRegistry
from relay.clock import ManualClock
from relay.http.services import Services
from tests.conftest import root_headers, services_of
from tests.http.helpers import register_orchestrator

H = root_headers()


@pytest.fixture
def database_url(premigrated_database_url: str) -> str:
    """Start from a database migrated once per session (see tests/conftest.py)."""
    return premigrated_database_url


STOP_TIMEOUT_S = 5


async def wait_stopped(ref: pykka.ActorRef[Any]) -> None:
    stopped = await trio.to_thread.run_sync(ref.actor_stopped.wait, STOP_TIMEOUT_S)
    assert stopped, "the actor did not stop"


def live_agent_actors() -> list[pykka.ActorRef[Any]]:
    return list(pykka.ActorRegistry.get_by_class(agent.AgentActor))


@pytest.fixture
def registry(services: Services) -> ActorRegistry:
    return services.runtime.registry


async def test_idle_actor_is_stopped(client: Any, registry: ActorRegistry) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    ref = registry.ref("agent", "a1")  # the live activation, not a new one
    assert registry.is_live("agent", "a1")

    assert registry.passivate_idle(0) >= 1
    await wait_stopped(ref)

    assert not registry.is_live("agent", "a1")
    assert registry.live_counts().get("agent", 0) == 0


async def test_recently_active_actor_is_kept(client: Any, registry: ActorRegistry) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    ref = registry.ref("agent", "a1")

    registry.passivate_idle(3600)
    # Answered after the Passivate message, by the same activation: it was not stopped.
    card = await registry.ask("agent", "a1", agent.Heartbeat())

    assert card.id == "a1"
    assert registry.ref("agent", "a1") is ref
    assert ref.is_alive()


async def test_an_actor_woken_only_by_the_reaper_stops_right_after(
    client: Any, services: Services, registry: ActorRegistry, clock: ManualClock
) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    await register_orchestrator(client)
    for kind, key in (("agent", "a1"), ("orchestrator", "o1")):
        old = registry.ref(kind, key)
        registry.passivate_idle(0)
        await wait_stopped(old)
    clock.advance(31)

    assert [card.status for card in await reap_agents(services.runtime)] == ["stale"]
    assert [o.status for o in await reap_orchestrators(services.runtime)] == ["stale"]

    # Forgotten before the reply: the next message starts a fresh activation.
    assert not registry.is_live("agent", "a1")
    assert not registry.is_live("orchestrator", "o1")
    agent_card = await (await client.get("/api/agents/a1", headers=H)).get_json()
    assert agent_card["status"] == "stale"  # the write went through before the stop
    orchestrator_card = await (await client.get("/api/orchestrators/o1", headers=H)).get_json()
    assert orchestrator_card["status"] == "stale"


async def test_a_reap_keeps_an_actor_that_was_already_live(
    client: Any, services: Services, registry: ActorRegistry, clock: ManualClock
) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    ref = registry.ref("agent", "a1")
    clock.advance(31)

    assert [card.status for card in await reap_agents(services.runtime)] == ["stale"]

    assert registry.is_live("agent", "a1")
    assert registry.ref("agent", "a1") is ref


async def test_heartbeat_reactivates_a_passivated_agent_with_its_state(
    client: Any, registry: ActorRegistry, clock: ManualClock
) -> None:
    registered = await (
        await client.post(
            "/api/agents",
            json={
                "id": "a1",
                "name": "Builder",
                "tags": ["t"],
                "ready": True,
                "orchestratorId": "o1",
                "meta": {"provider": "claude", "sessionName": "s1"},
            },
            headers=H,
        )
    ).get_json()
    old = registry.ref("agent", "a1")
    registry.passivate_idle(0)
    await wait_stopped(old)
    clock.advance(12)

    response = await client.post("/api/agents/a1/heartbeat", headers=H)

    assert response.status_code == 200
    card = await response.get_json()
    assert card["name"] == "Builder"
    assert card["tags"] == ["t"]
    assert card["ready"] is True
    assert card["orchestratorId"] == "o1"
    assert card["meta"] == {"provider": "claude", "sessionName": "s1"}
    assert card["registeredAt"] == registered["registeredAt"]
    assert card["lastSeenAt"] == clock.now_ms()
    assert registry.is_live("agent", "a1")
    assert registry.ref("agent", "a1") is not old


async def test_reactivated_actor_sees_writes_acknowledged_just_before_passivation(
    client: Any, registry: ActorRegistry
) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    await client.patch("/api/agents/a1", json={"meta": {"step": 1}}, headers=H)
    old = registry.ref("agent", "a1")
    registry.passivate_idle(0)
    await wait_stopped(old)

    response = await client.patch("/api/agents/a1", json={"meta": {"more": 2}}, headers=H)

    assert (await response.get_json())["meta"] == {"step": 1, "more": 2}


async def test_register_reactivates_a_passivated_agent_as_existing(
    client: Any, registry: ActorRegistry
) -> None:
    await client.post("/api/agents", json={"id": "a1", "name": "Kept"}, headers=H)
    old = registry.ref("agent", "a1")
    registry.passivate_idle(0)
    await wait_stopped(old)

    response = await client.post("/api/agents", json={"id": "a1"}, headers=H)

    assert response.status_code == 200  # not 201: the state came back from the store
    assert (await response.get_json())["name"] == "Kept"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/agents/ghost/heartbeat", None),
        ("post", "/api/agents/ghost/timeline", {"title": "t"}),
    ],
)
async def test_unknown_agent_leaves_no_live_actor(
    client: Any, registry: ActorRegistry, method: str, path: str, body: Any
) -> None:
    kwargs: dict[str, Any] = {"headers": H}
    if body is not None:
        kwargs["json"] = body
    response = await getattr(client, method)(path, **kwargs)
    assert response.status_code == 404

    # The activation forgot itself before replying, and its thread is on its way out.
    assert not registry.is_live("agent", "ghost")
    for ref in live_agent_actors():
        await wait_stopped(ref)
    assert live_agent_actors() == []


async def test_deleted_agent_leaves_no_live_actor(client: Any, registry: ActorRegistry) -> None:
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    await client.delete("/api/agents/a1", headers=H)

    assert not registry.is_live("agent", "a1")
    for ref in live_agent_actors():
        await wait_stopped(ref)
    assert live_agent_actors() == []


async def test_a_passivated_actor_is_freed_without_a_gc_pass(
    client: Any, registry: ActorRegistry
) -> None:
    # Automatic full GC passes are off while serving: an actor kept alive by a reference
    # cycle would hold its locks and queues until the scheduled pass.
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    await client.post("/api/agents/a1/heartbeat", headers=H)  # a write: its callbacks
    await client.post("/api/commands", json={"type": "t", "target": "a1"}, headers=H)
    ref = registry.ref("agent", "a1")
    gc.collect()
    gc.disable()
    try:
        registry.passivate_idle(0)
        await wait_stopped(ref)
        for thread in threading.enumerate():  # its thread lets go of it as it exits
            if thread.name.startswith("AgentActor"):
                await trio.to_thread.run_sync(thread.join, STOP_TIMEOUT_S)

        left = [o for o in gc.get_objects() if isinstance(o, agent.AgentActor)]
    finally:
        gc.enable()

    assert left == []


async def test_heartbeats_racing_passivation_all_succeed(
    client: Any, registry: ActorRegistry
) -> None:
    # A message that reaches an actor as it stops is re-sent to a fresh activation.
    agent_ids = [f"r{n}" for n in range(10)]
    for agent_id in agent_ids:
        await client.post("/api/agents", json={"id": agent_id}, headers=H)
    statuses: list[int] = []

    async def beat(agent_id: str) -> None:
        for _ in range(10):
            response = await client.post(f"/api/agents/{agent_id}/heartbeat", headers=H)
            statuses.append(response.status_code)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        for agent_id in agent_ids:
            nursery.start_soon(beat, agent_id)
        for _ in range(50):
            registry.passivate_idle(0)
            await trio.lowlevel.checkpoint()

    assert statuses == [200] * 100


async def test_app_passivates_idle_actors_by_itself(open_app: Any) -> None:
    # actor_idle_seconds is tiny; the sweep runs every max(idle / 2, 0.5) s of real time.
    async with open_app(actor_idle_seconds=0.01) as app:
        registry = services_of(app).runtime.registry
        await app.test_client().post("/api/agents", json={"id": "a1"}, headers=H)
        ref = registry.ref("agent", "a1")
        await wait_stopped(ref)
        assert not registry.is_live("agent", "a1")
