"""The delivery state machine (spec/messaging.md) as pure functions; ``now`` in ms."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from relay.domain.messages import Delivery, Message

Outcome = Literal["ack", "already", "refuse"]


def queued(delivery_id: str, message: Message, agent_id: str, position: int, now: int) -> Delivery:
    """A message accepted for ``agent_id``: queued, attempt 0, at ``position`` in its inbox."""
    return Delivery(
        id=delivery_id,
        message_id=message.id,
        agent_id=agent_id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        state="queued",
        attempt=0,
        max_attempts=message.max_attempts,
        position=position,
        queued_at=now,
        expires_at=message.expires_at,
        ack_required=message.ack_required,
    )


def due(delivery: Delivery, now: int) -> Delivery | None:
    """The delivery after whatever expiry is due at ``now``; None when none is.

    The message's ``expiresAt`` wins over a lease's: an expired message is never requeued.
    """
    if delivery.state not in ("queued", "leased"):
        return None
    if delivery.expires_at <= now:
        return replace(delivery, state="expired", ended_at=now)
    if (
        delivery.state == "leased"
        and delivery.lease_expires_at is not None
        and delivery.lease_expires_at <= now
    ):
        if delivery.attempt >= delivery.max_attempts:
            return replace(delivery, state="dead_lettered", ended_at=now)
        return replace(delivery, state="queued", lease_id=None, lease_expires_at=None)
    return None


def hand_out(delivery: Delivery, lease_id: str, lease_expires_at: int, now: int) -> Delivery:
    """A queued delivery fetched: leased until acked, or acked at once if no ack is required."""
    if delivery.ack_required:
        return replace(
            delivery,
            state="leased",
            attempt=delivery.attempt + 1,
            lease_id=lease_id,
            lease_expires_at=lease_expires_at,
        )
    return replace(
        delivery,
        state="acked",
        attempt=delivery.attempt + 1,
        lease_id=lease_id,
        lease_expires_at=None,
        acked_at=now,
        ended_at=now,
    )


def ack_outcome(delivery: Delivery, lease_id: str, now: int) -> Outcome:
    """Whether an ack under ``lease_id`` acks the delivery, already did, or is refused."""
    if delivery.lease_id != lease_id:
        return "refuse"
    if delivery.state == "acked":
        return "already"
    if (
        delivery.state == "leased"
        and delivery.lease_expires_at is not None
        and now < delivery.lease_expires_at
    ):
        return "ack"
    return "refuse"


def acked(delivery: Delivery, now: int) -> Delivery:
    return replace(delivery, state="acked", lease_expires_at=None, acked_at=now, ended_at=now)


def change_name(before: Delivery, after: Delivery) -> str:
    """The ``delivery`` event's ``change`` for a transition."""
    if after.state == "queued" and before.state == "leased":
        return "requeued"
    return after.state


def replace_matched(delivery: Delivery, matched_by: dict[str, str]) -> Delivery:
    """The channel binding that routed the message here."""
    return replace(delivery, matched_by=dict(matched_by))
