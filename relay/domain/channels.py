"""Channels as values: a named conversation, its bindings and whom a post reaches."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

JSON = dict[str, Any]

BindingMode = Literal["exclusive", "broadcast"]
TargetType = Literal["agent", "label", "tag", "capability"]
Direction = Literal["inbound", "outbound", "both"]

BINDING_MODES: tuple[BindingMode, ...] = ("exclusive", "broadcast")
# Most specific first: routing and ``matchedBy`` rank bindings in this order.
TARGET_TYPES: tuple[TargetType, ...] = ("agent", "label", "tag", "capability")
DIRECTIONS: tuple[Direction, ...] = ("inbound", "outbound", "both")

CHANNEL_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
CHANNEL_ID_MAX_LENGTH = 64
CHANNEL_ID = re.compile(CHANNEL_ID_PATTERN)
BINDING_ID_MAX_LENGTH = 36  # "bnd_" + 32 hex
DESCRIPTION_MAX_LENGTH = 500
TARGET_MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    description: str | None
    conversation_id: str
    created_at: int
    updated_at: int

    def to_json(self) -> JSON:
        channel: JSON = {
            "id": self.id,
            "conversationId": self.conversation_id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if self.description is not None:
            channel["description"] = self.description
        return channel


@dataclass(frozen=True, slots=True)
class ChannelSummary:
    channel: Channel
    bindings: int
    last_message_at: int | None

    def to_json(self) -> JSON:
        return {
            **self.channel.to_json(),
            "bindings": self.bindings,
            "lastMessageAt": self.last_message_at,
        }


@dataclass(frozen=True, slots=True)
class BindingSpec:
    """What a caller asks for; the channel's actor gives it an id and a time."""

    mode: BindingMode
    target_type: TargetType
    target: str
    direction: Direction = "both"


@dataclass(frozen=True, slots=True)
class ChannelBinding:
    id: str
    channel_id: str
    mode: BindingMode
    target_type: TargetType
    target: str
    direction: Direction
    created_at: int

    @property
    def inbound(self) -> bool:
        return self.direction in ("inbound", "both")

    @property
    def outbound(self) -> bool:
        return self.direction in ("outbound", "both")

    def same_as(self, spec: BindingSpec) -> bool:
        """The spec's uniqueness: one binding per mode, target type and target."""
        return (self.mode, self.target_type, self.target) == (
            spec.mode,
            spec.target_type,
            spec.target,
        )

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "channelId": self.channel_id,
            "mode": self.mode,
            "targetType": self.target_type,
            "target": self.target,
            "direction": self.direction,
            "createdAt": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class ChannelRouteTarget:
    agent_id: str
    mode: BindingMode
    binding: ChannelBinding  # the most specific binding that matched the agent

    def to_json(self) -> JSON:
        return {
            "agentId": self.agent_id,
            "mode": self.mode,
            "matchedBy": {
                "bindingId": self.binding.id,
                "targetType": self.binding.target_type,
                "target": self.binding.target,
            },
        }
