"""Which control actions an agent can take right now, and why not: for a UI to show or explain.

The same rules and the same order of checks as the action route itself
(``relay.actors.agent.flows.request_action``), without queuing anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.agent.action_rules import (
    ACTIONS,
    can_receive_action,
    latest_claude_resume_id,
    managing_orchestrator,
)
from relay.actors.runtime.context import Runtime
from relay.domain.agents import AgentCard, TimelineEntry
from relay.domain.orchestrators import Orchestrator
from relay.errors import NotFound
from relay.store import agents as agent_store
from relay.store import orchestrators as orchestrator_store

TIMELINE_WINDOW = 50


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
    """One entry per action, in the route's order of checks."""
    out: list[Availability] = []
    for action in ACTIONS:
        if not can_receive_action(card, action):
            reason = (
                "only a Claude session that is offline or stale can be resumed"
                if action == "resume"
                else f"agent does not support {action}"
            )
            out.append(Availability(action, False, reason))
        elif action == "resume" and managing_orchestrator(card, online) is None:
            out.append(
                Availability(action, False, "no online orchestrator available to resume agent")
            )
        elif action == "resume" and latest_claude_resume_id(timeline) is None:
            out.append(Availability(action, False, "no Claude resume id recorded for agent"))
        else:
            out.append(Availability(action, True))
    return out


async def action_support(rt: Runtime, agent_id: str) -> list[Availability]:
    card = await rt.store.run(lambda: agent_store.load(agent_id))
    if card is None:
        raise NotFound("agent not found")
    online = await rt.store.run(lambda: orchestrator_store.list_all(status="online"))
    timeline = await rt.store.run(lambda: agent_store.timeline(agent_id, TIMELINE_WINDOW))
    return availability(card, online, timeline)
