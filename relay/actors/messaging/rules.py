"""Checks of a send's input (the HTTP route and the MCP tool share them)."""

from __future__ import annotations

import re
from typing import Any

from relay.actors.agent.rules import register_card
from relay.actors.messaging.inputs import SendInput
from relay.domain.agents import AgentCard, AgentRegistration
from relay.domain.messages import IMPORTANCES, Message
from relay.errors import Invalid

MAX_BODY_BYTES = 65_536
MAX_ATTACHMENTS = 10
CLIENT_MESSAGE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def check_send(
    *,
    to: str | None,
    channel_id: str | None,
    reply_to: str | None,
    body: str,
    client_message_id: str | None,
    importance: str,
    attachments: list[dict[str, Any]],
    ttl_seconds: int,
    max_attempts: int,
) -> None:
    """Raises Invalid with the spec's message for the first bad field."""
    if (to is not None) == (channel_id is not None) and not (
        to is None and channel_id is None and reply_to is not None
    ):
        raise Invalid("exactly one of to, channelId is required")
    size = len(body.encode("utf-8"))
    if size == 0:
        raise Invalid("body must not be empty")
    if size > MAX_BODY_BYTES:
        raise Invalid(f"body must be at most {MAX_BODY_BYTES} bytes")
    if client_message_id is not None and not CLIENT_MESSAGE_ID.fullmatch(client_message_id):
        raise Invalid("clientMessageId must be 1..128 of A-Z a-z 0-9 . _ : -")
    if importance not in IMPORTANCES:
        raise Invalid(f"importance must be one of {', '.join(IMPORTANCES)}")
    if len(attachments) > MAX_ATTACHMENTS:
        raise Invalid(f"attachments must have at most {MAX_ATTACHMENTS} items")
    if not 60 <= ttl_seconds <= 2_592_000:
        raise Invalid("ttlSeconds must be between 60 and 2592000")
    if not 1 <= max_attempts <= 20:
        raise Invalid("maxAttempts must be between 1 and 20")


def other_party(sender: str, parent_from: str, parent_to: str | None) -> str:
    """Who a reply to a direct message goes to: the parent's party that is not the replier."""
    if sender == parent_from and parent_to is not None:
        return parent_to
    return parent_from


def unregistered_sender(agent_id: str) -> AgentCard:
    """The card a channel's outbound bindings judge an agent by before it is registered:
    the one a registration naming only its id would make, so only a binding naming that
    id lets it post. (A token bound to an agent sends as that agent, registered or not; as
    a sender no card describes, it would otherwise post where any non-agent may.)"""
    return register_card(None, AgentRegistration(id=agent_id), 0)


def repeats_send(
    original: Message,
    data: SendInput,
    conversation_id: str | None,
    ttl_seconds: int,
    max_attempts: int,
) -> bool:
    """Whether ``data`` (with its defaults applied) asks for ``original`` again: the same
    target, conversation (None: a channel's, which ``channel_id`` decides), reply, fields
    and attachments (by artifact, whose refs outlive it)."""
    return (
        original.to == data.to
        and original.channel_id == data.channel_id
        and (conversation_id is None or original.conversation_id == conversation_id)
        and original.reply_to == data.reply_to
        and original.ack_required == data.ack_required
        and original.importance == data.importance
        and original.body == data.body
        and [a.get("artifactId") for a in original.attachments]
        == [str(a.get("artifactId")) for a in data.attachments]
        and original.max_attempts == max_attempts
        and original.expires_at - original.created_at == ttl_seconds * 1000
    )
