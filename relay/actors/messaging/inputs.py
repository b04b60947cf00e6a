"""What a send is given (``SendInput``) and what it answers (``Sent``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relay.domain.messages import Delivery, Importance, Message


@dataclass(frozen=True, slots=True)
class SendInput:
    """``SendMessageInput``; None means "not given" (the relay's defaults apply)."""

    body: str
    to: str | None = None
    channel_id: str | None = None
    reply_to: str | None = None
    client_message_id: str | None = None
    ack_required: bool = False
    importance: Importance = "normal"
    attachments: list[dict[str, Any]] = field(default_factory=list)
    ttl_seconds: int | None = None
    max_attempts: int | None = None
    sender: str | None = None  # the body's ``from``


@dataclass(frozen=True, slots=True)
class Sent:
    message: Message
    deliveries: list[Delivery]
    created: bool
