"""The agent aggregate: one AgentActor per agent (its card, timeline and lifecycle),
its messages, its rules and the flows HTTP, the channel and the jobs share.
"""

from relay.actors.agent.action_rules import (
    LIFECYCLE_IN_PROGRESS,
    NO_ORCHESTRATOR_FOR_RESUME,
    NO_RESUME_ID,
    TIMELINE_WINDOW,
)
from relay.actors.agent.actor import AgentActor
from relay.actors.agent.flows import (
    ACTION_COMMAND_TYPES,
    AUDIT_VIEW,
    JSON,
    agent_reaper,
    link_resumed_session,
    on_action_settled,
    reap_agents,
    request_action,
)
from relay.actors.agent.install import install
from relay.actors.agent.known import agent_facts, facts_of, orchestrators_of, placements_of
from relay.actors.agent.messages import (
    KIND,
    AbortLifecycle,
    AppendTimeline,
    BeginLifecycle,
    Delete,
    EndLifecycle,
    Heartbeat,
    Patch,
    Reap,
    RecordResumedBy,
    Register,
)
from relay.actors.agent.spawning import respawn_credentials, spawn_agent
from relay.actors.agent.support import (
    Availability,
    action_support,
    availability,
)
from relay.actors.agent.wake import wake_agent
from relay.actors.agent.wake_rules import WAKE, WAKE_REASONS, WakeReason

__all__ = [
    "ACTION_COMMAND_TYPES",
    "AUDIT_VIEW",
    "JSON",
    "KIND",
    "LIFECYCLE_IN_PROGRESS",
    "NO_ORCHESTRATOR_FOR_RESUME",
    "NO_RESUME_ID",
    "TIMELINE_WINDOW",
    "WAKE",
    "WAKE_REASONS",
    "AbortLifecycle",
    "AgentActor",
    "AppendTimeline",
    "Availability",
    "BeginLifecycle",
    "Delete",
    "EndLifecycle",
    "Heartbeat",
    "Patch",
    "Reap",
    "RecordResumedBy",
    "Register",
    "WakeReason",
    "action_support",
    "agent_facts",
    "agent_reaper",
    "availability",
    "facts_of",
    "install",
    "link_resumed_session",
    "on_action_settled",
    "orchestrators_of",
    "placements_of",
    "reap_agents",
    "request_action",
    "respawn_credentials",
    "spawn_agent",
    "wake_agent",
]
