"""The messages InboxActor understands; each names the reply it gets."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from typing import Any

from relay.actors.runtime.aggregate import Sweep
from relay.actors.runtime.bridge import Ask
from relay.actors.runtime.handoff import Waiter
from relay.domain.messages import Delivery, Message

KIND = "inbox"


def waiting_key(agent_id: str) -> str:
    """The key of the long-polls waiting on ``agent_id``'s inbox (its bell and its offers)."""
    return f"inbox:{agent_id}"


@dataclass(frozen=True, slots=True)
class Enqueue(Ask[tuple[Delivery, bool]]):
    """Queue the message for this agent, once: a message already delivered here replies
    its delivery. Replies ``(delivery, first)``: ``first`` when the inbox held no queued or
    leased delivery before this one was queued."""

    message: Message
    matched_by: dict[str, str] | None = None
    repeat: bool = False  # a repeated send: its delivery may already be stored
    # The message's own write, when not yet known to be committed: the delivery is written
    # only if it commits (usually in the same group commit), never beside a lost message.
    after: concurrent.futures.Future[Any] | None = None


@dataclass(frozen=True, slots=True)
class Handed:
    """A fetch's outcome: the new lease (None when nothing was queued) and when the
    earliest lease still held in the inbox runs out, the moment a long-poll that got
    nothing must look again (a requeue rings no bell)."""

    lease_id: str | None
    lease_expires_at: int | None
    deliveries: list[Delivery]
    next_lease_expiry: int | None
    acked: list[str] = field(default_factory=list)  # the fetch's ``ack``: as Ack replies
    # Messages of ``deliveries`` the inbox holds in memory, by message id (others: the store).
    messages: dict[str, Message] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HandedOff:
    """What an ``Enqueue`` gives a waiting fetch: its delivery leased (or acked) under a
    new lease, durable once ``commit`` resolves (never handed out before)."""

    handed: Handed
    commit: concurrent.futures.Future[Any]


# A waiting fetch's offer: the lease it asks for, in ms.
FetchWaiter = Waiter[int, HandedOff]


@dataclass(frozen=True, slots=True)
class Fetch(Ask[Handed]):
    """Hand out up to ``limit`` queued deliveries under one new lease. Replies ``Handed``.

    With ``ack``, first ack every delivery of that lease as ``Ack(ack)`` would, all or
    nothing, in the same step and write: refused, it raises as ``Ack`` does and hands out
    nothing.

    With ``waiter`` and nothing to hand out, the fetch is about to wait: the waiter is
    offered (``Runtime.handoffs``, ``waiting_key``) in the same step, so the next delivery
    queued here (with none queued ahead of it) is leased to it at once by that ``Enqueue``.
    """

    lease_ms: int
    limit: int
    ack: str | None = None
    waiter: FetchWaiter | None = None


@dataclass(frozen=True, slots=True)
class Peek(Ask[list[Delivery]]):
    """Replies the queued and leased deliveries in inbox order; leases nothing."""


@dataclass(frozen=True, slots=True)
class Ack(Ask[list[str]]):
    """Ack deliveries leased under ``lease_id`` (all of them when ``delivery_ids`` is None),
    all or nothing. Replies the acked ids. Raises NotFound ``delivery not found``, Conflict
    ``delivery is not leased by you``."""

    lease_id: str
    delivery_ids: tuple[str, ...] | None = field(default=None)


@dataclass(frozen=True, slots=True)
class ApplyDue(Sweep, Ask[dict[str, int]]):
    """Apply every expiry due now. Replies ``{requeued, deadLettered, expired}``."""
