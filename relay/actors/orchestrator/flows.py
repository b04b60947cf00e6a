"""Orchestrator use cases the HTTP routes, the channel and the maintenance jobs share."""

from __future__ import annotations

from typing import Any

from relay.actors.orchestrator import messages as orchestrator
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.reaping import reap
from relay.domain.commands import Command, CommandSpec
from relay.domain.orchestrators import Orchestrator
from relay.store import orchestrators as orchestrator_store


async def enqueue_if_online(rt: Runtime, spec: CommandSpec) -> Command:
    """Queue on an orchestrator only if it is online now (checked inside its actor)."""
    command: Command = await rt.registry.ask(
        orchestrator.KIND, spec.target, orchestrator.EnqueueIfOnline(spec)
    )
    return command


async def reap_orchestrators(rt: Runtime) -> list[Orchestrator]:
    """The same stale rule for orchestrators, with their own thresholds."""
    settings = rt.settings
    return await reap(
        rt,
        orchestrator.KIND,
        orchestrator.Reap(),
        orchestrator_store.due_for_reaping,
        settings.orchestrator_stale_seconds,
        settings.orchestrator_offline_seconds,
    )


async def orchestrator_reaper(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: move silent orchestrators online → stale → offline."""
    return {"changed": len(await reap_orchestrators(rt))}
