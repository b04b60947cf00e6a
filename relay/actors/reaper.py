"""The stale reapers: the maintenance schedule calls them; tests call them directly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from relay.actors import agent, orchestrator
from relay.actors.runtime import Runtime
from relay.domain.agents import AgentCard
from relay.domain.orchestrators import Orchestrator
from relay.store import agents as agent_store
from relay.store import orchestrators as orchestrator_store

DueForReaping = Callable[[int, int], Awaitable[list[str]]]


async def _reap(
    rt: Runtime,
    kind: str,
    message: object,
    due_for_reaping: DueForReaping,
    stale_seconds: float,
    offline_seconds: float,
) -> list[Any]:
    """Apply the stale rule to every candidate the store nominates; return what changed.

    The store query only nominates candidates; each actor re-checks the rule on its own
    state, so a heartbeat racing the reaper always wins.
    """
    now = rt.clock.now_ms()
    stale_before = now - int(stale_seconds * 1000)
    offline_before = now - int(offline_seconds * 1000)
    candidates = await rt.store.run(lambda: due_for_reaping(stale_before, offline_before))
    changed: list[Any] = []
    for key in candidates:
        reaped = await rt.registry.ask(kind, key, message)
        if reaped is not None:
            changed.append(reaped)
    return changed


async def reap_agents(rt: Runtime) -> list[AgentCard]:
    """Move silent agents online → stale → offline; returns the cards whose status changed."""
    settings = rt.settings
    return await _reap(
        rt,
        agent.KIND,
        agent.Reap(),
        agent_store.due_for_reaping,
        settings.agent_stale_seconds,
        settings.agent_offline_seconds,
    )


async def reap_orchestrators(rt: Runtime) -> list[Orchestrator]:
    """The same stale rule for orchestrators, with their own thresholds."""
    settings = rt.settings
    return await _reap(
        rt,
        orchestrator.KIND,
        orchestrator.Reap(),
        orchestrator_store.due_for_reaping,
        settings.orchestrator_stale_seconds,
        settings.orchestrator_offline_seconds,
    )
