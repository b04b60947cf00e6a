"""The orchestrator aggregate: one OrchestratorActor per orchestrator (and its command
queue), its messages, rules and flows.
"""

from relay.actors.orchestrator.actor import OrchestratorActor
from relay.actors.orchestrator.flows import (
    enqueue_if_online,
    orchestrator_reaper,
    reap_orchestrators,
    register_orchestrator,
)
from relay.actors.orchestrator.install import install
from relay.actors.orchestrator.messages import (
    KIND,
    EnqueueIfOnline,
    Heartbeat,
    Reap,
    Register,
    ReportAgents,
)
from relay.actors.orchestrator.rules import runtime_token_constraints

__all__ = [
    "KIND",
    "EnqueueIfOnline",
    "Heartbeat",
    "OrchestratorActor",
    "Reap",
    "Register",
    "ReportAgents",
    "enqueue_if_online",
    "install",
    "orchestrator_reaper",
    "reap_orchestrators",
    "register_orchestrator",
    "runtime_token_constraints",
]
