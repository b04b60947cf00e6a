"""The actors: the runtime every aggregate uses, and one package per aggregate.

``open_runtime(settings, clock)`` builds the relay's runtime with every aggregate
installed, starts it, and stops it in order on exit; ``build_runtime`` only builds it
(the HTTP app starts it while serving). See ARCHITECTURE.md for how to add an aggregate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from relay.actors import (
    agent,
    artifacts,
    automations,
    channels,
    commands,
    conversation,
    inbox,
    integrations,
    maintenance,
    memory,
    messaging,
    orchestrator,
    pairs,
    repo,
    tasking,
    tasks,
    tokens,
    workspace_ids,
)
from relay.actors.runtime import Install, Runtime, assemble, running
from relay.clock import Clock
from relay.settings import Settings

# Each aggregate installs its actor kinds, settle hooks and maintenance jobs.
INSTALLS: tuple[Install, ...] = (
    agent.install,
    orchestrator.install,
    commands.install,
    workspace_ids.install,
    repo.install,
    tokens.install,
    channels.install,
    conversation.install,
    inbox.install,
    artifacts.install,
    messaging.install,
    tasks.install,
    tasking.install,
    pairs.install,
    integrations.install,
    automations.install,
    memory.install,
    maintenance.install,
)


def build_runtime(settings: Settings, clock: Clock) -> Runtime:
    """The relay's runtime, every aggregate installed, nothing started."""
    return assemble(settings, clock, INSTALLS)


@asynccontextmanager
async def open_runtime(settings: Settings, clock: Clock) -> AsyncIterator[Runtime]:
    """Build the relay's runtime, start it, and stop it in order on exit."""
    async with running(build_runtime(settings, clock)) as runtime:
        yield runtime


__all__ = ["INSTALLS", "Runtime", "build_runtime", "open_runtime"]
