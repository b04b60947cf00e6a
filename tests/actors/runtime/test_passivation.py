"""Actors on demand: an idle agent's actor stops, and its next message brings it back intact.

Waiting for a stop is deterministic: ``ActorRef.actor_stopped`` is the threading.Event pykka
sets once the actor's thread is done, so the test waits on it (off the trio thread, bounded)
rather than polling ``is_live``. ``passivate_idle`` is a ``tell``, and an actor handles its
mailbox in order, so once a later ask to the *same* ref has been answered, the
``Passivate`` before it has been handled too.

The actors are reached as HTTP reaches them (``registry.ask`` and the flows), on a runtime
of their own: no web app is involved.
"""

from __future__ import annotations

import gc
import threading
from functools import partial
from typing import Any

import pykka
import pytest
import trio

from relay.actors import Runtime, agent, commands, open_runtime, orchestrator
from relay.actors.agent import reap_agents
from relay.actors.orchestrator import reap_orchestrators
from relay.actors.runtime.registry import ActorRegistry, Passivate
from relay.clock import ManualClock
from relay.domain.agents import AgentCard, AgentPatch, AgentRegistration, TimelineInput
from relay.domain.commands import CommandSpec
from relay.domain.orchestrators import Orchestrator, OrchestratorRegistration
from relay.errors import NotFound
from relay.settings import Settings
from relay.store import agents as agent_store
from relay.store import orchestrators as orchestrator_store

STOP_TIMEOUT_S = 5


async def wait_stopped(ref: pykka.ActorRef[Any]) -> None:
    stopped = await trio.to_thread.run_sync(ref.actor_stopped.wait, STOP_TIMEOUT_S)
    assert stopped, "the actor did not stop"


def live_agent_actors() -> list[pykka.ActorRef[Any]]:
    return list(pykka.ActorRegistry.get_by_class(agent.AgentActor))


@pytest.fixture
def registry(runtime: Runtime) -> ActorRegistry:
    return runtime.registry


async def register_agent(rt: Runtime, agent_id: str, **fields: Any) -> tuple[AgentCard, bool]:
    """``POST /api/agents``: ``(card, created)``."""
    registration = AgentRegistration(id=agent_id, **fields)
    return await rt.registry.ask(agent.KIND, agent_id, agent.Register(registration))


async def register_orchestrator(rt: Runtime, orchestrator_id: str = "o1") -> Orchestrator:
    """``POST /api/orchestrators``, as ``tests/http/helpers.register_orchestrator`` sends it."""
    registration = OrchestratorRegistration(
        id=orchestrator_id, name=None, base_dir=f"/srv/{orchestrator_id}"
    )
    orch, _created = await rt.registry.ask(
        orchestrator.KIND, orchestrator_id, orchestrator.Register(registration)
    )
    rt.routing.orchestrator_exists(orch.id)
    return orch


async def stored_agent(rt: Runtime, agent_id: str) -> AgentCard | None:
    return await rt.store.run(lambda: agent_store.load(agent_id))


async def stored_orchestrator(rt: Runtime, orchestrator_id: str) -> Orchestrator | None:
    return await rt.store.run(lambda: orchestrator_store.load(orchestrator_id))


async def test_idle_actor_is_stopped(runtime: Runtime, registry: ActorRegistry) -> None:
    await register_agent(runtime, "a1")
    ref = registry.ref("agent", "a1")  # the live activation, not a new one
    assert registry.is_live("agent", "a1")

    assert registry.passivate_idle(0) >= 1
    await wait_stopped(ref)

    assert not registry.is_live("agent", "a1")
    assert registry.live_counts().get("agent", 0) == 0


async def test_recently_active_actor_is_kept(runtime: Runtime, registry: ActorRegistry) -> None:
    await register_agent(runtime, "a1")
    ref = registry.ref("agent", "a1")

    registry.passivate_idle(3600)
    # Answered after the Passivate message, by the same activation: it was not stopped.
    card = await registry.ask("agent", "a1", agent.Heartbeat())

    assert card.id == "a1"
    assert registry.ref("agent", "a1") is ref
    assert ref.is_alive()


async def test_an_actor_woken_only_by_the_reaper_stops_right_after(
    runtime: Runtime, registry: ActorRegistry, clock: ManualClock
) -> None:
    await register_agent(runtime, "a1")
    await register_orchestrator(runtime)
    for kind, key in (("agent", "a1"), ("orchestrator", "o1")):
        old = registry.live_ref(kind, key)
        if old is not None:
            registry.passivate_idle(0)
            await wait_stopped(old)
    clock.advance(31)

    assert [card.status for card in await reap_agents(runtime)] == ["stale"]
    assert [o.status for o in await reap_orchestrators(runtime)] == ["stale"]

    # Forgotten before the reply: the next message starts a fresh activation.
    assert not registry.is_live("agent", "a1")
    assert not registry.is_live("orchestrator", "o1")
    agent_card = await stored_agent(runtime, "a1")
    assert agent_card is not None
    assert agent_card.status == "stale"  # the write went through before the stop
    orch = await stored_orchestrator(runtime, "o1")
    assert orch is not None
    assert orch.status == "stale"


async def test_a_reap_keeps_an_actor_that_was_already_live(
    runtime: Runtime, registry: ActorRegistry, clock: ManualClock
) -> None:
    await register_agent(runtime, "a1")
    ref = registry.ref("agent", "a1")
    clock.advance(31)

    assert [card.status for card in await reap_agents(runtime)] == ["stale"]

    assert registry.is_live("agent", "a1")
    assert registry.ref("agent", "a1") is ref


async def test_heartbeat_reactivates_a_passivated_agent_with_its_state(
    runtime: Runtime, registry: ActorRegistry, clock: ManualClock
) -> None:
    registered, _created = await register_agent(
        runtime,
        "a1",
        name="Builder",
        tags=("t",),
        ready=True,
        orchestrator_id="o1",
        meta={"provider": "claude", "sessionName": "s1"},
    )
    old = registry.ref("agent", "a1")
    registry.passivate_idle(0)
    await wait_stopped(old)
    clock.advance(12)

    card = await registry.ask("agent", "a1", agent.Heartbeat())

    assert card.name == "Builder"
    assert card.tags == ("t",)
    assert card.ready is True
    assert card.orchestrator_id == "o1"
    assert card.meta == {"provider": "claude", "sessionName": "s1"}
    assert card.registered_at == registered.registered_at
    assert card.last_seen_at == clock.now_ms()
    assert registry.is_live("agent", "a1")
    assert registry.ref("agent", "a1") is not old


async def test_reactivated_actor_sees_writes_acknowledged_just_before_passivation(
    runtime: Runtime, registry: ActorRegistry
) -> None:
    await register_agent(runtime, "a1")
    await registry.ask("agent", "a1", agent.Patch(AgentPatch(meta={"step": 1})))
    old = registry.ref("agent", "a1")
    registry.passivate_idle(0)
    await wait_stopped(old)

    card = await registry.ask("agent", "a1", agent.Patch(AgentPatch(meta={"more": 2})))

    assert card.meta == {"step": 1, "more": 2}


async def test_register_reactivates_a_passivated_agent_as_existing(
    runtime: Runtime, registry: ActorRegistry
) -> None:
    await register_agent(runtime, "a1", name="Kept")
    old = registry.ref("agent", "a1")
    registry.passivate_idle(0)
    await wait_stopped(old)

    card, created = await register_agent(runtime, "a1")

    assert created is False  # the state came back from the store
    assert card.name == "Kept"


@pytest.mark.parametrize(
    "message",
    [agent.Heartbeat(), agent.AppendTimeline(TimelineInput(kind="note", title="t"))],
    ids=["heartbeat", "timeline"],
)
async def test_unknown_agent_leaves_no_live_actor(
    registry: ActorRegistry, message: agent.Heartbeat | agent.AppendTimeline
) -> None:
    with pytest.raises(NotFound, match=r"^agent not found$"):
        await registry.ask("agent", "ghost", message)

    # The activation forgot itself before replying, and its thread is on its way out.
    assert not registry.is_live("agent", "ghost")
    for ref in live_agent_actors():
        await wait_stopped(ref)
    assert live_agent_actors() == []


async def test_deleted_agent_leaves_no_live_actor(
    runtime: Runtime, registry: ActorRegistry
) -> None:
    await register_agent(runtime, "a1")
    await registry.ask("agent", "a1", agent.Delete())

    assert not registry.is_live("agent", "a1")
    for ref in live_agent_actors():
        await wait_stopped(ref)
    assert live_agent_actors() == []


async def test_a_passivated_actor_is_freed_without_a_gc_pass(
    runtime: Runtime, registry: ActorRegistry
) -> None:
    # Automatic full GC passes are off while serving: an actor kept alive by a reference
    # cycle would hold its locks and queues until the scheduled pass.
    await register_agent(runtime, "a1")
    await registry.ask("agent", "a1", agent.Heartbeat())  # a write: its callbacks
    await commands.create(
        runtime,
        CommandSpec(
            type="t",
            target="a1",
            target_kind="agent",
            source="test",
            ttl_seconds=runtime.settings.command_default_ttl_seconds,
        ),
    )
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
    runtime: Runtime, registry: ActorRegistry
) -> None:
    # A message that reaches an actor as it stops is re-sent to a fresh activation.
    agent_ids = [f"r{n}" for n in range(10)]
    for agent_id in agent_ids:
        await register_agent(runtime, agent_id)
    beats: list[str] = []

    async def beat(agent_id: str) -> None:
        for _ in range(10):
            card = await registry.ask("agent", agent_id, agent.Heartbeat())
            beats.append(card.id)
            await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        for agent_id in agent_ids:
            nursery.start_soon(beat, agent_id)
        for _ in range(50):
            registry.passivate_idle(0)
            await trio.lowlevel.checkpoint()

    assert sorted(beats) == sorted(agent_ids * 10)


async def test_a_sweep_spares_an_activation_until_its_first_message(
    runtime: Runtime, registry: ActorRegistry
) -> None:
    # ``ask`` starts an activation, then sends: a sweep that lands in between would refuse
    # the message and start another activation, which the next sweep could stop again.
    await register_agent(runtime, "a1")
    first = registry.ref("agent", "a1")
    registry.passivate_idle(0)
    await wait_stopped(first)
    fresh = await trio.to_thread.run_sync(registry.ref, "agent", "a1")

    # The sweep's message, as it lands between the start and the heartbeat (asked, so it
    # is handled once the activation has loaded, with nothing behind it in the mailbox).
    await trio.to_thread.run_sync(partial(fresh.ask, Passivate(0), timeout=STOP_TIMEOUT_S))
    await registry.ask("agent", "a1", agent.Heartbeat())

    assert registry.live_ref("agent", "a1") is fresh
    registry.passivate_idle(0)  # it has had its message: idle again, it goes
    await wait_stopped(fresh)


async def test_the_runtime_passivates_idle_actors_by_itself(
    settings: Settings, clock: ManualClock
) -> None:
    # actor_idle_seconds is tiny; the sweep runs every max(idle / 2, 0.5) s of real time.
    quick = settings.model_copy(update={"actor_idle_seconds": 0.01})
    async with open_runtime(quick, clock) as rt:
        await register_agent(rt, "a1")
        ref = rt.registry.ref("agent", "a1")
        await wait_stopped(ref)
        assert not rt.registry.is_live("agent", "a1")
