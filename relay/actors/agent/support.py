"""Which control actions an agent can take right now, and why not: for a UI to show or explain.

The same rules and the same order of checks as the action route itself
(``relay.actors.agent.flows.request_action``), without queuing anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.agent.action_rules import (
    ACTIONS,
    LIFECYCLE_ACTIONS,
    LIFECYCLE_IN_PROGRESS,
    TIMELINE_WINDOW,
    action_refusal,
    latest_claude_resume_id,
    managing_orchestrator,
)
from relay.actors.agent.rules import lifecycle_command_id, lifecycle_in_flight
from relay.actors.runtime.context import Runtime
from relay.domain.agents import AgentCard, TimelineEntry
from relay.domain.orchestrators import Orchestrator
from relay.errors import Invalid, NotFound
from relay.store import agents as agent_store
from relay.store import commands as command_store
from relay.store import orchestrators as orchestrator_store

# Why a resume is unsupported, put for a UI: the route's "agent does not support resume"
# says what, this says what would make it possible.
RESUME_NOT_POSSIBLE = "only a Claude session that is offline or stale can be resumed"


@dataclass(frozen=True, slots=True)
class Availability:
    action: str
    available: bool
    reason: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"action": self.action, "available": self.available, "reason": self.reason}


def availability(
    card: AgentCard,
    hosts: list[Orchestrator],
    timeline: list[TimelineEntry],
    *,
    lifecycle_busy: bool = False,
) -> list[Availability]:
    """One entry per action, refused by the route's own rules, in its order: support
    (``action_refusal``), then, for restart, shutdown and resume, ``lifecycle_busy`` (one
    of them is in flight: ``lifecycle_in_flight``)."""
    orchestrator = managing_orchestrator(card, hosts)
    resume_id = latest_claude_resume_id(timeline)
    out: list[Availability] = []
    for action in ACTIONS:
        refusal = action_refusal(card, action, orchestrator=orchestrator, resume_id=resume_id)
        if refusal is None:
            if lifecycle_busy and action in LIFECYCLE_ACTIONS:
                out.append(Availability(action, False, LIFECYCLE_IN_PROGRESS))
            else:
                out.append(Availability(action, True))
            continue
        reason = refusal.message
        if action == "resume" and isinstance(refusal, Invalid):
            reason = RESUME_NOT_POSSIBLE
        out.append(Availability(action, False, reason))
    return out


async def action_support(rt: Runtime, agent_id: str) -> list[Availability]:
    card = await rt.store.run(lambda: agent_store.load(agent_id))
    if card is None:
        raise NotFound("agent not found")
    hosts = await rt.store.run(orchestrator_store.list_all)  # ``managing_orchestrator``
    timeline = await rt.store.run(lambda: agent_store.timeline(agent_id, TIMELINE_WINDOW))
    command_id = lifecycle_command_id(card)
    command = None
    if command_id is not None:
        command = await rt.store.run(lambda: command_store.load(command_id))
    busy = lifecycle_in_flight(card, command, rt.clock.now_ms())
    return availability(card, hosts, timeline, lifecycle_busy=busy)
