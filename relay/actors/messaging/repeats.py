"""A send's idempotency key: ``(sender, clientMessageId)`` names at most one message."""

from __future__ import annotations

from relay.actors.runtime.context import Runtime
from relay.store import messages as message_store


async def is_repeat(rt: Runtime, sender: str, client_message_id: str | None) -> bool:
    """Whether ``(sender, clientMessageId)`` names a stored message: a repeat, which the
    send answers with the original (200) whatever changed since it was accepted."""
    if client_message_id is None:
        return False
    cmid = client_message_id
    found = await rt.store.run(lambda: message_store.find_by_client_id(sender, cmid))
    return found is not None
