"""How the agent aggregate plugs into the runtime."""

from __future__ import annotations

from relay.actors.agent.actor import AgentActor
from relay.actors.agent.flows import ACTION_COMMAND_TYPES, agent_reaper, on_action_settled
from relay.actors.agent.known import remember_agents
from relay.actors.agent.messages import KIND
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    """One AgentActor per agent; lifecycle commands' settle hooks; the agent reaper; every
    stored agent's facts remembered at start-up."""
    runtime.registry.register_kind(KIND, lambda key: AgentActor.start(key, runtime), pooled=True)
    for command_type in ACTION_COMMAND_TYPES:
        runtime.settle_hooks.register(command_type, on_action_settled)
    runtime.maintenance.register_job(
        JobSpec("agent-reaper", runtime.settings.job_agent_reaper_seconds, agent_reaper)
    )
    runtime.recoveries.append(remember_agents)
