"""Extension points other parts of messaging fill in (channels, waking an agent)."""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.runtime.context import Runtime
from relay.domain.messages import Message
from relay.errors import NotFound


@dataclass(frozen=True, slots=True)
class ChannelTarget:
    """One recipient a channel routes a message to (``ChannelRouteTarget``)."""

    agent_id: str
    matched_by: dict[str, str]


async def channel_targets(
    rt: Runtime, channel_id: str, sender: str
) -> tuple[str, list[ChannelTarget]]:
    """The channel's conversation id and the agents a message from ``sender`` goes to.

    Raises NotFound ``channel not found``, Forbidden/Conflict per the channel rules. The
    channel helper fills this in; until then no channel exists.
    """
    raise NotFound("channel not found")


async def on_first_delivery(rt: Runtime, agent_id: str, message: Message) -> None:
    """A delivery was queued into an inbox that held none queued or leased (wake it)."""
