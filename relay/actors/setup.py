"""Assembling the runtime: actor kinds and settle hooks, in one place."""

from __future__ import annotations

from relay.actors import (
    agent,
    agent_actions,
    merge_lease,
    orchestrator,
    workspace_merge,
)
from relay.actors.registry import ActorRegistry
from relay.actors.runtime import Runtime
from relay.clock import Clock
from relay.events import EventHub
from relay.settings import Settings
from relay.store.thread import StoreThread


def build_runtime(settings: Settings, clock: Clock) -> Runtime:
    """The store (not started), the registry with every actor kind, and the settle hooks."""
    store = StoreThread(settings.resolved_database_url(), timeout=settings.store_timeout_seconds)
    registry = ActorRegistry(ask_timeout=settings.ask_timeout_seconds)
    runtime = Runtime(
        settings=settings, clock=clock, store=store, registry=registry, events=EventHub()
    )
    registry.register_kind(agent.KIND, lambda key: agent.AgentActor.start(key, runtime))
    registry.register_kind(
        orchestrator.KIND, lambda key: orchestrator.OrchestratorActor.start(key, runtime)
    )
    registry.register_kind(
        merge_lease.KIND, lambda key: merge_lease.MergeLeaseActor.start(key, runtime)
    )
    for command_type in agent_actions.ACTION_COMMAND_TYPES:
        runtime.settle_hooks.register(command_type, agent_actions.on_action_settled)
    for command_type in workspace_merge.WORKSPACE_COMMANDS:
        runtime.settle_hooks.register(command_type, workspace_merge.on_workspace_command_settled)
    return runtime
