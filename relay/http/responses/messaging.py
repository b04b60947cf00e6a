"""Messages, deliveries, conversations and inboxes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from relay.http.responses.base import JSONObject, Shape

__all__ = [
    "Acked",
    "Conversation",
    "ConversationMessages",
    "Delivery",
    "Inbox",
    "InboxItem",
    "Message",
    "SentMessage",
]


class Message(Shape):
    id: str
    client_message_id: str
    conversation_id: str
    seq: int
    from_: str = Field(alias="from")
    thread_id: str
    ack_required: bool
    importance: Literal["low", "normal", "high", "urgent"]
    attachments: list[JSONObject]
    max_attempts: int
    expires_at: int
    created_at: int
    body: str
    to: str | None = None
    channel_id: str | None = None
    reply_to: str | None = None


class Delivery(Shape):
    id: str
    message_id: str
    agent_id: str
    conversation_id: str
    seq: int
    state: Literal["queued", "leased", "acked", "expired", "dead_lettered"]
    attempt: int
    max_attempts: int
    queued_at: int
    lease_id: str | None = None
    lease_expires_at: int | None = None
    matched_by: JSONObject | None = None
    acked_at: int | None = None
    ended_at: int | None = None


class SentMessage(Shape):
    message: Message
    deliveries: list[Delivery]


class Conversation(Shape):
    id: str
    kind: Literal["direct", "channel", "pair"]
    participants: list[str]
    last_seq: int
    channel_id: str | None = None
    pair_id: str | None = None
    last_message_at: int | None = None


class ConversationMessages(Shape):
    conversation_id: str
    last_seq: int
    messages: list[Message]


class InboxItem(Shape):
    delivery_id: str
    attempt: int
    message: Message


class Inbox(Shape):
    lease_id: str | None
    lease_expires_at: int | None
    items: list[InboxItem]
    acked: list[str] | None = Field(
        default=None, description="only with ?ack=: the deliveries of that lease, acked"
    )


class Acked(Shape):
    acked: list[str]
