"""The messages OrchestratorActor understands; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.actors.runtime.aggregate import Sweep
from relay.actors.runtime.bridge import Ask
from relay.domain.activity import ActivityInput
from relay.domain.commands import Command, CommandSpec
from relay.domain.orchestrators import ManagedAgent, Orchestrator, OrchestratorRegistration

KIND = "orchestrator"


@dataclass(frozen=True, slots=True)
class Register(Ask[tuple[Orchestrator, bool]]):
    """Create or refresh. Replies ``(orchestrator, created)``."""

    registration: OrchestratorRegistration


@dataclass(frozen=True, slots=True)
class Heartbeat(Ask[Orchestrator]):
    """Mark online; optionally replace managed sessions / runtime. Replies the orchestrator."""

    managed_agents: tuple[ManagedAgent, ...] | None = None
    runtime: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ReportAgents(Ask[Orchestrator]):
    """Replace the managed-session report. Replies the orchestrator."""

    managed_agents: tuple[ManagedAgent, ...]


NOT_ONLINE = "orchestrator is not online"


@dataclass(frozen=True, slots=True)
class EnqueueIfOnline(Ask[Command]):
    """Queue a command only if the orchestrator is online now (spawn). Replies the command
    (with ``once_per_agent``, possibly an open one queued before: compare ids).

    Raises Conflict with ``offline_message`` otherwise.
    """

    spec: CommandSpec
    offline_message: str = NOT_ONLINE
    audits: tuple[ActivityInput, ...] = ()  # stored in the command's commit
    # One at a time per agent: if this queue holds an open command of the spec's type about
    # the spec's ``params.agentId``, reply that one and queue nothing (agent.wake).
    once_per_agent: bool = False


@dataclass(frozen=True, slots=True)
class Reap(Sweep, Ask[Orchestrator | None]):
    """Apply the stale rule now. Replies the orchestrator if its status changed."""
