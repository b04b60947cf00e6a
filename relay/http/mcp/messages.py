"""``send_message`` and ``reply``: ``POST /api/messages`` as the token's agent.

The sender is always the caller's agent: neither tool takes ``from`` (one given is ignored,
as every unknown argument is), so an agent's MCP token cannot send as anyone else.
"""

from __future__ import annotations

from pydantic import Field

from relay.actors import messaging
from relay.http.auth import principal
from relay.http.mcp.tools import JSON, Tool
from relay.http.messages import AttachmentBody, sent_json
from relay.http.services import services
from relay.http.validation import Body


class ReplyArguments(Body):
    message_id: str = Field(min_length=1, max_length=64)
    body: str
    ack_required: bool = False
    importance: str = "normal"
    client_message_id: str | None = None
    attachments: list[AttachmentBody] = Field(default_factory=list)


class SendMessageArguments(Body):
    body: str
    to: str | None = Field(default=None, min_length=1, max_length=200)
    channel_id: str | None = Field(default=None, min_length=1, max_length=64)
    reply_to: str | None = Field(default=None, min_length=1, max_length=64)
    ack_required: bool = False
    importance: str = "normal"
    client_message_id: str | None = None
    ttl_seconds: int | None = None
    attachments: list[AttachmentBody] = Field(default_factory=list)


async def _send(data: messaging.SendInput) -> JSON:
    # A repeat of a clientMessageId answers the original, as the route's 200 does: a tool
    # result has no status, so a repeat and a first send look alike.
    rt = services().runtime
    with rt.sends.slot():
        return sent_json(await messaging.send(rt, principal(), data))


async def send(caller: str, arguments: SendMessageArguments) -> JSON:
    return await _send(
        messaging.SendInput(
            body=arguments.body,
            to=arguments.to,
            channel_id=arguments.channel_id,
            reply_to=arguments.reply_to,
            client_message_id=arguments.client_message_id,
            ack_required=arguments.ack_required,
            importance=arguments.importance,  # type: ignore[arg-type]  # checked by the flow
            attachments=[{"artifactId": a.artifact_id} for a in arguments.attachments],
            ttl_seconds=arguments.ttl_seconds,
            sender=caller,
        )
    )


async def reply(caller: str, arguments: ReplyArguments) -> JSON:
    return await _send(
        messaging.SendInput(
            body=arguments.body,
            reply_to=arguments.message_id,
            client_message_id=arguments.client_message_id,
            ack_required=arguments.ack_required,
            importance=arguments.importance,  # type: ignore[arg-type]  # checked by the flow
            attachments=[{"artifactId": a.artifact_id} for a in arguments.attachments],
            sender=caller,
        )
    )


SEND_MESSAGE = Tool(
    name="send_message",
    description=(
        "Send a message to an agent (to) or a channel (channelId), or as a reply (replyTo)."
        " ackRequired messages are handed out until the recipient acks them."
        " Returns the message and one delivery per recipient."
    ),
    scope="message:write",
    arguments=SendMessageArguments,
    run=send,
)

REPLY = Tool(
    name="reply",
    description=(
        "Reply to a message (messageId): to its channel, else to its other party,"
        " in the same conversation and thread."
    ),
    scope="message:write",
    arguments=ReplyArguments,
    run=reply,
)
