"""Message and conversation routes: send, read a message and its deliveries, list
conversations and their messages (spec/messaging.md)."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from quart import Blueprint
from quart_schema import document_request

from relay.actors import messaging
from relay.auth.access import is_unconstrained_operator, own_agent
from relay.errors import Invalid
from relay.http import responses
from relay.http.auth import allow_acting_for, principal, requires
from relay.http.contract import int_param, responds, str_param
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_int, query_str
from relay.store import messages as message_store

bp = Blueprint("messages", __name__)


class AttachmentBody(Body):
    artifact_id: str = Field(min_length=1, max_length=200)


class SendMessageBody(Body):
    body: str
    to: str | None = Field(default=None, min_length=1, max_length=200)
    channel_id: str | None = Field(default=None, min_length=1, max_length=64)
    reply_to: str | None = Field(default=None, min_length=1, max_length=64)
    client_message_id: str | None = None
    ack_required: bool = False
    importance: str = "normal"
    attachments: list[AttachmentBody] = Field(default_factory=list)
    ttl_seconds: int | None = None
    max_attempts: int | None = None
    sender: str | None = Field(default=None, alias="from", min_length=1, max_length=200)


def sent_json(sent: messaging.Sent) -> dict[str, Any]:
    return {
        "message": sent.message.to_json(),
        "deliveries": [d.to_json() for d in sent.deliveries],
    }


@bp.post("/api/messages")
@responds({201: responses.SentMessage, 200: responses.SentMessage}, errors=(403, 404, 409))
@document_request(SendMessageBody)
@requires("message:write")
async def send_message() -> tuple[dict[str, Any], int]:
    body = await parse_body(SendMessageBody)
    data = messaging.SendInput(
        body=body.body,
        to=body.to,
        channel_id=body.channel_id,
        reply_to=body.reply_to,
        client_message_id=body.client_message_id,
        ack_required=body.ack_required,
        importance=body.importance,  # type: ignore[arg-type]  # checked by the flow
        attachments=[{"artifactId": a.artifact_id} for a in body.attachments],
        ttl_seconds=body.ttl_seconds,
        max_attempts=body.max_attempts,
        sender=body.sender,
    )
    rt = services().runtime
    with rt.sends.slot():
        sent = await messaging.send(rt, principal(), data)
    return sent_json(sent), 201 if sent.created else 200


@bp.get("/api/messages/<message_id>")
@responds(responses.Message, errors=(403, 404))
@requires("message:read")
async def get_message(message_id: str) -> dict[str, Any]:
    message, _deliveries, _all = await messaging.readable_message(
        services().runtime, principal(), message_id
    )
    return message.to_json()


@bp.get("/api/messages/<message_id>/deliveries")
@responds(list[responses.Delivery], errors=(403, 404))
@requires("message:read")
async def get_deliveries(message_id: str) -> list[dict[str, Any]]:
    found = await messaging.visible_deliveries(services().runtime, principal(), message_id)
    return [d.to_json() for d in found]


@bp.get("/api/conversations")
@responds(
    list[responses.Conversation],
    errors=(403, 404),
    query=(
        str_param(
            "agentId",
            200,
            description="the agent whose conversations to list (one it acts for); without "
            "it an unconstrained operator gets every conversation, a token bound to one "
            "agent that agent's, anyone else 400",
        ),
        int_param("limit", 1, 500, description="at most this many, most recent first (100)"),
    ),
)
@requires("message:read")
async def list_conversations() -> list[dict[str, Any]]:
    agent_id = query_str("agentId", max_length=200)
    limit = query_int("limit", 100, low=1, high=500)
    caller = principal()
    store = services().runtime.store
    if agent_id is None:
        # Every conversation only for an operator no constraint narrows: a constrained
        # token lists its own agent's, like any agent token.
        if is_unconstrained_operator(caller):
            everything = await store.run(lambda: message_store.recent_conversations(limit))
            return [c.to_json() for c in everything]
        agent_id = own_agent(caller)
        if agent_id is None:
            raise Invalid("agentId is required")
    await allow_acting_for(agent_id)
    wanted = agent_id
    found = await store.run(lambda: message_store.conversations_of(wanted, limit))
    return [c.to_json() for c in found]


@bp.get("/api/conversations/<conversation_id>/messages")
@responds(
    responses.ConversationMessages,
    errors=(403, 404),
    query=(int_param("afterSeq", 0, 2**31 - 1), int_param("limit", 1, 500)),
)
@requires("message:read")
async def conversation_messages(conversation_id: str) -> dict[str, Any]:
    after_seq = query_int("afterSeq", 0, low=0, high=2**31 - 1)
    limit = query_int("limit", 100, low=1, high=500)
    return await messaging.conversation_messages(
        services().runtime, principal(), conversation_id, after_seq, limit
    )
