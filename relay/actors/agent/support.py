"""Which control actions an agent can take right now, and why not: for a UI to show or explain.

The same rules and the same order of checks as the action route itself
(``relay.actors.agent.flows.request_action``), without queuing anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.agent.action_rules import (
    ACTIONS,
    TIMELINE_WINDOW,
    action_refusal,
    latest_claude_resume_id,
    managing_orchestrator,
)
from relay.actors.runtime.context import Runtime
from relay.domain.agents import AgentCard, TimelineEntry
from relay.domain.orchestrators import Orchestrator
from relay.errors import Invalid, NotFound
from relay.store import agents as agent_store
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
    card: AgentCard, online: list[Orchestrator], timeline: list[TimelineEntry]
) -> list[Availability]:
    """One entry per action, refused by the route's own rule (``action_refusal``)."""
    orchestrator = managing_orchestrator(card, online)
    resume_id = latest_claude_resume_id(timeline)
    out: list[Availability] = []
    for action in ACTIONS:
        refusal = action_refusal(card, action, orchestrator=orchestrator, resume_id=resume_id)
        if refusal is None:
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
    online = await rt.store.run(lambda: orchestrator_store.list_all(status="online"))
    timeline = await rt.store.run(lambda: agent_store.timeline(agent_id, TIMELINE_WINDOW))
    return availability(card, online, timeline)
