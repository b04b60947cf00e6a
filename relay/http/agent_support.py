"""``GET /api/agents/:id/actions``: the control actions available now, with reasons."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from relay.actors.agent.support import action_support
from relay.http import responses
from relay.http.auth import allow_agent, requires
from relay.http.contract import responds
from relay.http.services import services

bp = Blueprint("agent_support", __name__)


@bp.get("/api/agents/<agent_id>/actions")
@responds(list[responses.ActionAvailability])
@requires("agent:read")
async def available_actions(agent_id: str) -> list[dict[str, Any]]:
    await allow_agent(agent_id)
    return [entry.to_json() for entry in await action_support(services().runtime, agent_id)]
