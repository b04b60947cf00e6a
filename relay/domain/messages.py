"""Messages, their deliveries (one per recipient) and the conversations they belong to."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]

DeliveryState = Literal["queued", "leased", "acked", "expired", "dead_lettered"]
Importance = Literal["low", "normal", "high", "urgent"]
ConversationKind = Literal["direct", "channel", "pair"]

DELIVERY_STATES: tuple[DeliveryState, ...] = (
    "queued",
    "leased",
    "acked",
    "expired",
    "dead_lettered",
)
LIVE: frozenset[str] = frozenset({"queued", "leased"})
FINAL: frozenset[str] = frozenset({"acked", "expired", "dead_lettered"})
IMPORTANCES: tuple[Importance, ...] = ("low", "normal", "high", "urgent")


def new_id(prefix: str) -> str:
    """``msg_``, ``dlv_``, ``cnv_``, ``ls_`` + 32 hex."""
    return f"{prefix}{uuid.uuid4().hex}"


# The relay's own sender (a pair's opening messages, a task's notices): never an agent.
RELAY_SENDER = "relay"


def direct_conversation_id(a: str, b: str, *, a_is_agent: bool = True) -> str:
    """The one direct conversation of the set {a, b}: derived, so no lookup races.

    A sender that is no agent (root, an integration, a token's sub) has a conversation of
    its own with each agent (``a_is_agent`` false): an agent registered under its name
    later joins none of them, nor reads what that sender said.
    """
    if not a_is_agent:
        return "cnv_" + uuid.uuid5(uuid.NAMESPACE_URL, f"relay:direct-from:{a}\0{b}").hex
    first, second = sorted((a, b))
    return "cnv_" + uuid.uuid5(uuid.NAMESPACE_URL, f"relay:direct:{first}\0{second}").hex


@dataclass(frozen=True, slots=True)
class Recipient:
    """An agent a message is for, and the channel binding that routed it there (if any)."""

    agent_id: str
    matched_by: dict[str, str] | None = None

    def to_json(self) -> JSON:
        return {"agentId": self.agent_id, "matchedBy": self.matched_by}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recipient:
        matched = data.get("matchedBy")
        return cls(str(data["agentId"]), dict(matched) if matched is not None else None)


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    client_message_id: str
    conversation_id: str
    seq: int
    sender: str
    to: str | None
    channel_id: str | None
    thread_id: str
    reply_to: str | None
    ack_required: bool
    importance: Importance
    body: str
    attachments: tuple[JSON, ...]
    max_attempts: int
    expires_at: int
    created_at: int
    # Stored, never shown: whom the send queued deliveries for (empty when not known).
    recipients: tuple[Recipient, ...] = ()
    # Stored, never shown: whether the sender was an agent at send time (None: not known,
    # stored before it was kept). Who reads as the sender is judged from this, never from
    # whether an agent of that id exists now (anyone registering one could change that).
    sender_is_agent: bool | None = None

    def to_json(self, *, with_body: bool = True) -> JSON:
        data: JSON = {
            "id": self.id,
            "clientMessageId": self.client_message_id,
            "conversationId": self.conversation_id,
            "seq": self.seq,
            "from": self.sender,
            "to": self.to,
            "channelId": self.channel_id,
            "threadId": self.thread_id,
            "replyTo": self.reply_to,
            "ackRequired": self.ack_required,
            "importance": self.importance,
            "attachments": [dict(a) for a in self.attachments],
            "maxAttempts": self.max_attempts,
            "expiresAt": self.expires_at,
            "createdAt": self.created_at,
        }
        if with_body:
            data["body"] = self.body
        return data


@dataclass(frozen=True, slots=True)
class MessageDraft:
    """A send, resolved (sender, conversation, recipients) and validated, before its seq."""

    id: str
    client_message_id: str
    conversation_id: str
    kind: ConversationKind
    sender: str
    to: str | None
    channel_id: str | None
    thread_id: str
    reply_to: str | None
    ack_required: bool
    importance: Importance
    body: str
    attachments: tuple[JSON, ...]
    max_attempts: int
    ttl_seconds: int
    recipients: tuple[str, ...]
    # Agents among the sender and the recipients (a conversation's ``participants``).
    participants: tuple[str, ...]
    # The channel binding that routed each recipient (channel posts only).
    matched_by: Mapping[str, dict[str, str]] = field(default_factory=dict)
    pair_id: str | None = None  # a pair's conversation (kind ``pair``) names its pair
    sender_is_agent: bool | None = None  # kept on the message (``Message.sender_is_agent``)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    message_id: str
    agent_id: str
    conversation_id: str
    seq: int
    state: DeliveryState
    attempt: int
    max_attempts: int
    position: int
    queued_at: int
    expires_at: int
    ack_required: bool
    lease_id: str | None = None
    lease_expires_at: int | None = None
    matched_by: JSON | None = None
    acked_at: int | None = None
    ended_at: int | None = None

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "messageId": self.message_id,
            "agentId": self.agent_id,
            "conversationId": self.conversation_id,
            "seq": self.seq,
            "state": self.state,
            "attempt": self.attempt,
            "maxAttempts": self.max_attempts,
            "leaseId": self.lease_id,
            "leaseExpiresAt": self.lease_expires_at,
            "matchedBy": self.matched_by,
            "queuedAt": self.queued_at,
            "ackedAt": self.acked_at,
            "endedAt": self.ended_at,
        }


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    kind: ConversationKind
    participants: tuple[str, ...]
    channel_id: str | None
    pair_id: str | None
    last_seq: int
    last_message_at: int | None

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "kind": self.kind,
            "participants": list(self.participants),
            "channelId": self.channel_id,
            "pairId": self.pair_id,
            "lastSeq": self.last_seq,
            "lastMessageAt": self.last_message_at,
        }
