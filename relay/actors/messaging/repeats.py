"""A send's idempotency key: ``(sender, clientMessageId)`` names at most one message."""

from __future__ import annotations

from relay.actors.conversation.actor import REUSED
from relay.actors.messaging.inputs import SendInput, Sent
from relay.actors.messaging.rules import repeats_send
from relay.actors.runtime.context import Runtime
from relay.domain.messages import direct_conversation_id
from relay.errors import Conflict
from relay.store import messages as message_store


async def is_repeat(rt: Runtime, sender: str, client_message_id: str | None) -> bool:
    """Whether ``(sender, clientMessageId)`` names a stored message: a repeat, which the
    send answers with the original (200) whatever changed since it was accepted."""
    if client_message_id is None:
        return False
    cmid = client_message_id
    found = await rt.store.run(lambda: message_store.find_by_client_id(sender, cmid))
    return found is not None


async def stored_repeat(
    rt: Runtime, sender: str, sender_is_agent: bool, data: SendInput, limits: tuple[int, int]
) -> Sent | None:
    """The stored original that ``data`` repeats, with its deliveries, judged without
    routing the send again (its recipient or channel may be gone since); Conflict when
    ``(sender, clientMessageId)`` names a different message.

    None when there is nothing to answer so: no such message; a send naming neither ``to``
    nor ``channelId`` (a reply whose target the parent decides); an original stored before
    recipients were kept, or missing a delivery (the full send repairs those).
    """
    cmid = data.client_message_id
    if cmid is None or (data.to is None and data.channel_id is None):
        return None
    original = await rt.store.run(lambda: message_store.find_by_client_id(sender, cmid))
    if original is None or not original.recipients:
        return None
    conversation_id = (
        direct_conversation_id(sender, data.to, a_is_agent=sender_is_agent)
        if data.to is not None
        else None  # a channel's own conversation, which its id decides
    )
    ttl_seconds, max_attempts = limits
    if not repeats_send(original, data, conversation_id, ttl_seconds, max_attempts):
        raise Conflict(REUSED)
    deliveries = await rt.store.run(lambda: message_store.deliveries_of_message(original.id))
    if {r.agent_id for r in original.recipients} - {d.agent_id for d in deliveries}:
        return None
    return Sent(original, deliveries, created=False)
