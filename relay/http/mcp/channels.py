"""``list_channels``: ``GET /api/channels``, each with ``canPost`` for the caller's agent
(whether an ``outbound``/``both`` binding matches it, the send path's rule)."""

from __future__ import annotations

from relay.actors import channels
from relay.http.mcp.tools import JSON, Tool
from relay.http.services import services
from relay.http.validation import Body


class ListChannelsArguments(Body):
    pass


async def run(caller: str, _arguments: ListChannelsArguments) -> JSON:
    found = await channels.channels_for(services().runtime, caller)
    return {"channels": [{**summary.to_json(), "canPost": can} for summary, can in found]}


TOOL = Tool(
    name="list_channels",
    description=(
        "List the channels (id, description, bindings, lastMessageAt) and whether you may"
        " post to each (canPost)."
    ),
    scope="message:read",
    arguments=ListChannelsArguments,
    run=run,
)
