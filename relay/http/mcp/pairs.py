"""``pair_action``: ``POST /api/pairs/:id/actions`` as the token's agent."""

from __future__ import annotations

from pydantic import Field

from relay.domain.pairs import PairAction
from relay.http.mcp.tools import JSON, Tool
from relay.http.pairs import act, pair_json
from relay.http.validation import Body


class PairActionArguments(Body):
    pair_id: str = Field(min_length=1, max_length=64)
    action: PairAction
    message: str | None = None
    version: int | None = Field(default=None, ge=1)


async def pair_action(caller: str, arguments: PairActionArguments) -> JSON:
    # The token is bound to ``caller``: the flow judges what it is to the pair from the
    # token, exactly as the route does.
    del caller
    pair = await act(arguments.pair_id, arguments.action, arguments.message, arguments.version)
    return pair_json(pair)


TOOL = Tool(
    name="pair_action",
    description=(
        "Act on a pair you are in (pairId): join, request-review (driver), request-changes"
        " or approve (navigator), abort, or message (to the other party). Returns the pair."
    ),
    scope="task:write",
    arguments=PairActionArguments,
    run=pair_action,
)
