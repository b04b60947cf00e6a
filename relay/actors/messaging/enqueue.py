"""Queuing a message's deliveries in its recipients' inboxes, for the send use cases."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import trio

from relay.actors import conversation, inbox
from relay.actors.runtime.context import Runtime
from relay.domain.messages import Delivery, Message


async def enqueue_behind(
    rt: Runtime,
    accepted: conversation.Accepted,
    recipients: list[str],
    matched: dict[str, dict[str, str]],
) -> list[tuple[Delivery, bool]]:
    """Queue a new message's deliveries behind its own write, then wait for that write.

    The store applies writes in the order they are queued: the deliveries usually share the
    message's group commit instead of waiting for one more, and each is written only if
    the message is (``Enqueue.after``). The message's outcome answers the send first: a
    message that did not commit fails it with its own error, whatever the inboxes said.
    """
    try:
        queued = await enqueue_all(
            rt, recipients, accepted.message, matched, repeat=False, after=accepted.commit
        )
    except Exception:
        await conversation.committed(rt, accepted)
        raise
    await conversation.committed(rt, accepted)
    return queued


async def enqueue_all(
    rt: Runtime,
    recipients: list[str],
    message: Message,
    matched: dict[str, dict[str, str]],
    *,
    repeat: bool,
    after: concurrent.futures.Future[Any] | None = None,
) -> list[tuple[Delivery, bool]]:
    """Queue ``message`` in every recipient's inbox, ``(delivery, first)`` in their order.

    The inboxes are independent actors: asked together, their writes share a group commit
    instead of a broadcast waiting for one commit per recipient. The first failure is
    raised as itself (the send answers as it would have; the delivery repair job queues
    what is missing), once the others are done.
    """
    if len(recipients) == 1:
        (agent_id,) = recipients
        return [
            await inbox.enqueue(
                rt, agent_id, message, matched_by=matched.get(agent_id), repeat=repeat, after=after
            )
        ]
    results: dict[int, tuple[Delivery, bool]] = {}
    errors: list[Exception] = []

    async def one(index: int, agent_id: str) -> None:
        try:
            results[index] = await inbox.enqueue(
                rt, agent_id, message, matched_by=matched.get(agent_id), repeat=repeat, after=after
            )
        except Exception as error:  # re-raised below, unwrapped from the nursery
            errors.append(error)

    async with trio.open_nursery() as nursery:
        for index, agent_id in enumerate(recipients):
            nursery.start_soon(one, index, agent_id)
    if errors:
        raise errors[0]
    return [results[index] for index in range(len(recipients))]
