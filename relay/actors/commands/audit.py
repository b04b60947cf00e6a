"""The command channel's audit trail: one event when a command is queued, one when it settles."""

from __future__ import annotations

from relay.domain.activity import ActivityInput
from relay.domain.commands import Command


def queued(command: Command) -> ActivityInput:
    return ActivityInput(
        kind="command",
        title=f"Command {command.type} queued",
        icon="ti-send",
        view="commands",
        agent_id=_agent(command),
        metadata=_metadata(command),
        orchestrator_id=_orchestrator(command),
    )


def settled(command: Command) -> ActivityInput:
    return ActivityInput(
        kind="command",
        title=f"Command {command.type} {command.status}",
        body=command.error,
        icon="ti-check" if command.status == "succeeded" else "ti-alert-triangle",
        view="commands",
        agent_id=_agent(command),
        metadata=_metadata(command),
        orchestrator_id=_orchestrator(command),
    )


def _agent(command: Command) -> str | None:
    return command.target if command.target_kind == "agent" else None


def _orchestrator(command: Command) -> str | None:
    # A command to an agent is judged on the agent's stored orchestrator (``append``).
    return command.target if command.target_kind == "orchestrator" else None


def _metadata(command: Command) -> dict[str, object]:
    return {
        "commandId": command.id,
        "type": command.type,
        "target": command.target,
        "status": command.status,
        "source": command.source,
    }
