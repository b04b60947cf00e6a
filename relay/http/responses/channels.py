"""Message channels, their bindings and their routes."""

from __future__ import annotations

from typing import Literal

from relay.http.responses.base import Ok, Shape

__all__ = [
    "Channel",
    "ChannelBinding",
    "ChannelMatch",
    "ChannelRoute",
    "ChannelRouteTarget",
    "ChannelSummary",
    "ChannelWithBindings",
    "DeletedChannel",
]


class Channel(Shape):
    id: str
    description: str | None = None
    conversation_id: str
    created_at: int
    updated_at: int


class ChannelSummary(Channel):
    bindings: int
    last_message_at: int | None


class ChannelBinding(Shape):
    id: str
    channel_id: str
    mode: Literal["exclusive", "broadcast"]
    target_type: Literal["agent", "label", "tag", "capability"]
    target: str
    direction: Literal["inbound", "outbound", "both"]
    created_at: int


class ChannelWithBindings(Channel):
    bindings: list[ChannelBinding]


class DeletedChannel(Ok):
    id: str


class ChannelMatch(Shape):
    binding_id: str
    target_type: Literal["agent", "label", "tag", "capability"]
    target: str


class ChannelRouteTarget(Shape):
    agent_id: str
    mode: Literal["exclusive", "broadcast"]
    matched_by: ChannelMatch


class ChannelRoute(Shape):
    channel_id: str
    targets: list[ChannelRouteTarget]
