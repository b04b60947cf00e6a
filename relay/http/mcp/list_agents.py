"""``list_agents``: every agent, as ``GET /api/agents`` filters them (despite the token's
``agents`` constraint: an agent needs to know whom it can message)."""

from __future__ import annotations

from pydantic import Field

from relay.domain.agents import AgentCard, Presence
from relay.http.mcp.tools import JSON, Tool
from relay.http.services import services
from relay.http.validation import Body
from relay.store import agents as agent_store


class ListAgentsArguments(Body):
    status: Presence | None = None
    tag: str | None = Field(default=None, min_length=1, max_length=500)


def summary(card: AgentCard) -> JSON:
    meta = card.meta if isinstance(card.meta, dict) else {}
    capabilities = meta.get("capabilities")
    return {
        "id": card.id,
        "name": card.name,
        "status": card.status,
        "ready": card.ready,
        "tags": list(card.tags),
        "label": meta.get("label"),
        "capabilities": capabilities if isinstance(capabilities, list) else [],
    }


async def run(_caller: str, arguments: ListAgentsArguments) -> JSON:
    cards = await services().runtime.store.run(
        lambda: agent_store.list_cards(status=arguments.status, tag=arguments.tag)
    )
    return {"agents": [summary(card) for card in cards]}


TOOL = Tool(
    name="list_agents",
    description=(
        "List the agents on this relay (id, name, status, ready, tags, label, capabilities),"
        " optionally only those with a status or a tag."
    ),
    scope="agent:read",
    arguments=ListAgentsArguments,
    run=run,
)
