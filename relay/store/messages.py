"""Messages, deliveries and conversations in and out of the store."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

from tortoise.expressions import Q, Subquery

from relay.domain.messages import (
    Conversation,
    ConversationKind,
    Delivery,
    DeliveryState,
    Importance,
    Message,
    Recipient,
)
from relay.errors import Conflict
from relay.store import artifacts as artifact_store
from relay.store import models
from relay.store.statements import InsertRow, UpdateByKey

# -- messages ---------------------------------------------------------------------------------


def _message(row: models.Message) -> Message:
    return Message(
        id=row.id,
        client_message_id=row.client_message_id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        sender=row.sender,
        to=row.to,
        channel_id=row.channel_id,
        thread_id=row.thread_id,
        reply_to=row.reply_to,
        ack_required=row.ack_required,
        importance=cast(Importance, row.importance),
        body=row.body,
        attachments=tuple(dict(a) for a in row.attachments or ()),
        max_attempts=row.max_attempts,
        expires_at=row.expires_at,
        created_at=row.created_at,
        recipients=tuple(Recipient.from_json(r) for r in row.recipients or ()),
        sender_is_agent=row.sender_is_agent,
    )


def _message_columns(message: Message) -> dict[str, Any]:
    return {
        "client_message_id": message.client_message_id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "sender": message.sender,
        "to": message.to,
        "channel_id": message.channel_id,
        "thread_id": message.thread_id,
        "reply_to": message.reply_to,
        "ack_required": message.ack_required,
        "importance": message.importance,
        "body": message.body,
        "attachments": [dict(a) for a in message.attachments],
        "max_attempts": message.max_attempts,
        "expires_at": message.expires_at,
        "created_at": message.created_at,
        "recipients": [r.to_json() for r in message.recipients],
        "sender_is_agent": message.sender_is_agent,
    }


async def load_message(message_id: str) -> Message | None:
    row = await models.Message.get_or_none(id=message_id)
    return _message(row) if row else None


async def messages_by_id(message_ids: Iterable[str]) -> dict[str, Message]:
    wanted = list(dict.fromkeys(message_ids))
    if not wanted:
        return {}
    rows = await models.Message.filter(id__in=wanted)
    return {row.id: _message(row) for row in rows}


async def find_by_client_id(sender: str, client_message_id: str) -> Message | None:
    row = await models.Message.get_or_none(sender=sender, client_message_id=client_message_id)
    return _message(row) if row else None


async def conversation_messages(
    conversation_id: str, after_seq: int, limit: int, agents: list[str] | None = None
) -> list[Message]:
    """Its messages after ``after_seq`` in seq order; with ``agents``, only those one of
    them sent (as an agent) or was delivered."""
    query = models.Message.filter(conversation_id=conversation_id, seq__gt=after_seq)
    if agents is not None:
        delivered = models.Delivery.filter(conversation_id=conversation_id, agent_id__in=agents)
        as_agent = Q(sender_is_agent=True) | Q(sender_is_agent__isnull=True)
        query = query.filter(
            (as_agent & Q(sender__in=agents)) | Q(id__in=Subquery(delivered.values("message_id")))
        )
    rows = await query.order_by("seq").limit(limit)
    return [_message(row) for row in rows]


_REPAIR_CHUNK = 500


async def messages_missing_deliveries(
    now: int, created_from: int | None = None, created_to: int | None = None
) -> list[tuple[Message, list[Recipient]]]:
    """Messages not expired at ``now`` (created within ``[created_from, created_to]`` when
    given), oldest first, with their recipients that hold no delivery of them: what a send
    cut short between storing the message and queuing its deliveries left undone."""
    query = models.Message.filter(expires_at__gt=now)
    if created_from is not None:
        query = query.filter(created_at__gte=created_from)
    if created_to is not None:
        query = query.filter(created_at__lte=created_to)
    rows = await query.order_by("created_at", "id").values_list("id", "recipients")
    wanted = [(str(message_id), _recipients(raw)) for message_id, raw in rows]
    wanted = [(message_id, recipients) for message_id, recipients in wanted if recipients]
    missing: dict[str, list[Recipient]] = {}
    for start in range(0, len(wanted), _REPAIR_CHUNK):
        chunk = wanted[start : start + _REPAIR_CHUNK]
        delivered = set(
            await models.Delivery.filter(message_id__in=[m for m, _ in chunk]).values_list(
                "message_id", "agent_id"
            )
        )
        for message_id, recipients in chunk:
            lacking = [r for r in recipients if (message_id, r.agent_id) not in delivered]
            if lacking:
                missing[message_id] = lacking
    found = await messages_by_id(missing)
    return [(found[m], lacking) for m, lacking in missing.items() if m in found]


def _recipients(raw: Any) -> tuple[Recipient, ...]:
    # values_list hands the JSON column back decoded on some backends, as text on others.
    data = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    return tuple(Recipient.from_json(r) for r in data or ())


# -- conversations ----------------------------------------------------------------------------


def _conversation(row: models.Conversation) -> Conversation:
    return Conversation(
        id=row.id,
        kind=cast(ConversationKind, row.kind),
        participants=tuple(row.participants or ()),
        channel_id=row.channel_id,
        pair_id=row.pair_id,
        last_seq=row.last_seq,
        last_message_at=row.last_message_at,
    )


async def load_conversation(conversation_id: str) -> Conversation | None:
    row = await models.Conversation.get_or_none(id=conversation_id)
    return _conversation(row) if row else None


# The send path's writes, rendered once (``statements``): the ORM's create and
# filter().update() cost several times the statement itself in Python.
_INSERT_MESSAGE = InsertRow(models.Message)
_INSERT_CONVERSATION = InsertRow(models.Conversation)
_UPDATE_CONVERSATION = UpdateByKey(
    models.Conversation,
    ("kind", "participants", "channel_id", "pair_id", "last_seq", "last_message_at"),
)


async def accept(message: Message, conversation: Conversation, *, created: bool) -> None:
    """The message and its conversation's new ``lastSeq``, in the caller's transaction.

    Raises Conflict when ``(sender, clientMessageId)`` was taken meanwhile by a send into
    another conversation (its actor checked before this one wrote): a clean 409, not an
    integrity error.
    """
    # A clientMessageId the caller did not give is the new message's own random id: no
    # other send can hold it, so only a given one is looked up.
    if message.client_message_id != message.id:
        taken = await models.Message.filter(
            sender=message.sender, client_message_id=message.client_message_id
        ).exists()
        if taken:
            raise Conflict("clientMessageId already used for a different message")
    await _INSERT_MESSAGE.run({"id": message.id, **_message_columns(message)})
    # Who holds which artifact, in the message's commit: what secret artifacts are read by.
    await artifact_store.link(
        (a["artifactId"] for a in message.attachments), artifact_store.MESSAGE, message.id
    )
    columns: dict[str, Any] = {
        "kind": conversation.kind,
        "participants": list(conversation.participants),
        "channel_id": conversation.channel_id,
        "pair_id": conversation.pair_id,
        "last_seq": conversation.last_seq,
        "last_message_at": conversation.last_message_at,
    }
    if created:
        await _INSERT_CONVERSATION.run({"id": conversation.id, **columns})
    else:
        await _UPDATE_CONVERSATION.run(conversation.id, columns)


async def recent_conversations(limit: int) -> list[Conversation]:
    """Every conversation, most recent message first (ties by id), at most ``limit``."""
    rows = await models.Conversation.all().order_by("-last_message_at", "id").limit(limit)
    return [_conversation(row) for row in rows]


async def conversations_of(agent_id: str, limit: int | None = None) -> list[Conversation]:
    """Conversations the agent sent or was delivered a message in, most recent first, at
    most ``limit`` (all without one)."""
    ids = set(
        await models.Delivery.filter(agent_id=agent_id)
        .distinct()
        .values_list("conversation_id", flat=True)
    )
    # Sent as that agent: a sender that was no agent (root, a token's sub) of the same
    # name is someone else. (Messages stored before that was kept: as the agent's.)
    as_agent = Q(sender_is_agent=True) | Q(sender_is_agent__isnull=True)
    ids |= set(
        await models.Message.filter(as_agent, sender=agent_id)
        .distinct()
        .values_list("conversation_id", flat=True)
    )
    if not ids:
        return []
    rows = await models.Conversation.filter(id__in=list(ids))
    found = [_conversation(row) for row in rows]
    ordered = sorted(found, key=lambda c: (-(c.last_message_at or 0), c.id))
    return ordered if limit is None else ordered[:limit]


# -- deliveries -------------------------------------------------------------------------------


def _delivery(row: models.Delivery) -> Delivery:
    return Delivery(
        id=row.id,
        message_id=row.message_id,
        agent_id=row.agent_id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        state=cast(DeliveryState, row.state),
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        position=row.position,
        queued_at=row.queued_at,
        expires_at=row.expires_at,
        ack_required=row.ack_required,
        lease_id=row.lease_id,
        lease_expires_at=row.lease_expires_at,
        matched_by=row.matched_by,
        acked_at=row.acked_at,
        ended_at=row.ended_at,
    )


def _delivery_columns(d: Delivery) -> dict[str, Any]:
    return {
        "message_id": d.message_id,
        "agent_id": d.agent_id,
        "conversation_id": d.conversation_id,
        "seq": d.seq,
        "state": d.state,
        "attempt": d.attempt,
        "max_attempts": d.max_attempts,
        "position": d.position,
        "queued_at": d.queued_at,
        "expires_at": d.expires_at,
        "ack_required": d.ack_required,
        "lease_id": d.lease_id,
        "lease_expires_at": d.lease_expires_at,
        "matched_by": d.matched_by,
        "acked_at": d.acked_at,
        "ended_at": d.ended_at,
    }


_CHANGING = ("state", "attempt", "lease_id", "lease_expires_at", "acked_at", "ended_at")
_INSERT_DELIVERY = InsertRow(models.Delivery)
_UPDATE_DELIVERY = UpdateByKey(models.Delivery, _CHANGING)


async def insert_delivery(delivery: Delivery) -> None:
    await _INSERT_DELIVERY.run({"id": delivery.id, **_delivery_columns(delivery)})


async def update_deliveries(deliveries: Iterable[Delivery]) -> None:
    """The columns a state change touches, per delivery (the inbox actor's write)."""
    for d in deliveries:
        await _UPDATE_DELIVERY.run(d.id, _delivery_columns(d))


async def load_delivery(delivery_id: str) -> Delivery | None:
    row = await models.Delivery.get_or_none(id=delivery_id)
    return _delivery(row) if row else None


async def deliveries_by_id(delivery_ids: Iterable[str]) -> dict[str, Delivery]:
    wanted = list(dict.fromkeys(delivery_ids))
    if not wanted:
        return {}
    return {row.id: _delivery(row) for row in await models.Delivery.filter(id__in=wanted)}


async def deliveries_of_message(message_id: str) -> list[Delivery]:
    rows = await models.Delivery.filter(message_id=message_id).order_by("agent_id")
    return [_delivery(row) for row in rows]


async def inbox(agent_id: str) -> tuple[list[Delivery], int]:
    """The agent's queued and leased deliveries in inbox order, and its last position."""
    rows = (
        await models.Delivery.filter(agent_id=agent_id, state__in=["queued", "leased"])
        .order_by("position")
        .all()
    )
    last = await models.Delivery.filter(agent_id=agent_id).order_by("-position").first()
    return [_delivery(row) for row in rows], (last.position if last else 0)


async def agents_with_leases_due(now: int) -> list[str]:
    """Agents holding a lease past its expiry."""
    query = models.Delivery.filter(state="leased", lease_expires_at__lte=now)
    return sorted({str(a) for a in await query.values_list("agent_id", flat=True)})


async def agents_with_expiries_due(now: int) -> list[str]:
    """Agents with a queued or leased delivery of a message past its ``expiresAt``."""
    query = models.Delivery.filter(state__in=["queued", "leased"], expires_at__lte=now)
    return sorted({str(a) for a in await query.values_list("agent_id", flat=True)})


async def delete_expired_before(before: int) -> int:
    """Retention: messages whose ``expiresAt`` is before ``before``, with their deliveries."""
    ids = await models.Message.filter(expires_at__lt=before).values_list("id", flat=True)
    if not ids:
        return 0
    await models.Delivery.filter(message_id__in=list(ids)).delete()
    await artifact_store.unlink_holders(artifact_store.MESSAGE, (str(i) for i in ids))
    return int(await models.Message.filter(id__in=list(ids)).delete())


async def deliveries_of_lease(agent_id: str, lease_id: str) -> list[Delivery]:
    rows = await models.Delivery.filter(agent_id=agent_id, lease_id=lease_id).order_by("position")
    return [_delivery(row) for row in rows]


async def live_counts(agent_ids: Iterable[str], now: int) -> dict[str, int]:
    """Each agent's queued and leased deliveries as its inbox sees them at ``now``.

    Expiries the jobs have not applied yet count as applied, as the inbox actor applies
    them before anything else: a message past ``expiresAt`` is gone, a lease past its
    expiry on the last attempt is dead-lettered, one with attempts left is queued again.
    """
    wanted = list(dict.fromkeys(agent_ids))
    counts = dict.fromkeys(wanted, 0)
    if not wanted:
        return counts
    rows = await models.Delivery.filter(
        agent_id__in=wanted, state__in=["queued", "leased"], expires_at__gt=now
    ).values_list("agent_id", "state", "lease_expires_at", "attempt", "max_attempts")
    for agent_id, state, lease_expires_at, attempt, max_attempts in rows:
        dead = (
            state == "leased"
            and lease_expires_at is not None
            and lease_expires_at <= now
            and attempt >= max_attempts
        )
        if not dead:
            counts[str(agent_id)] += 1
    return counts
