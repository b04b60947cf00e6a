"""The stale reaper's entry point: the maintenance schedule calls it; tests call it directly."""

from __future__ import annotations

from relay.actors import agent, orchestrator
from relay.actors.runtime import Runtime
from relay.domain.agents import AgentCard
from relay.domain.orchestrators import Orchestrator
from relay.store import agents as agent_store
from relay.store import orchestrators as orchestrator_store


async def reap_agents(rt: Runtime) -> list[AgentCard]:
    """Move silent agents online → stale → offline; returns the cards whose status changed.

    The store query only nominates candidates; each agent's actor re-checks the rule on
    its own state, so a heartbeat racing the reaper always wins.
    """
    now = rt.clock.now_ms()
    stale_before = now - int(rt.settings.agent_stale_seconds * 1000)
    offline_before = now - int(rt.settings.agent_offline_seconds * 1000)
    candidates = await rt.store.run(
        lambda: agent_store.due_for_reaping(stale_before, offline_before)
    )
    changed: list[AgentCard] = []
    for agent_id in candidates:
        card = await rt.registry.ask(agent.KIND, agent_id, agent.Reap())
        if card is not None:
            changed.append(card)
    return changed


async def reap_orchestrators(rt: Runtime) -> list[Orchestrator]:
    """The same stale rule for orchestrators, with their own thresholds."""
    now = rt.clock.now_ms()
    stale_before = now - int(rt.settings.orchestrator_stale_seconds * 1000)
    offline_before = now - int(rt.settings.orchestrator_offline_seconds * 1000)
    candidates = await rt.store.run(
        lambda: orchestrator_store.due_for_reaping(stale_before, offline_before)
    )
    changed: list[Orchestrator] = []
    for orchestrator_id in candidates:
        orch = await rt.registry.ask(orchestrator.KIND, orchestrator_id, orchestrator.Reap())
        if orch is not None:
            changed.append(orch)
    return changed
