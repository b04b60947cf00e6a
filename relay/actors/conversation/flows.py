"""Conversation use cases: accept a message into its conversation."""

from __future__ import annotations

from relay.actors.conversation import messages as conversation
from relay.actors.runtime.context import Runtime
from relay.crossing import wait_future
from relay.domain.messages import Message, MessageDraft


async def accept(rt: Runtime, draft: MessageDraft) -> tuple[Message, bool]:
    """The message with its seq, and whether it is new (false: a repeat of the original),
    once it is committed."""
    accepted = await accept_queued(rt, draft)
    await committed(rt, accepted)
    return accepted.message, accepted.created


async def accept_queued(rt: Runtime, draft: MessageDraft) -> conversation.Accepted:
    """``accept`` without waiting for the commit: writes queued after this one (the
    deliveries) then share its group commit instead of waiting for one of their own."""
    return await rt.registry.ask(
        conversation.KIND, draft.conversation_id, conversation.Accept(draft)
    )


async def committed(rt: Runtime, accepted: conversation.Accepted) -> None:
    """Wait until ``accepted``'s write is committed; raises what failed it."""
    if accepted.commit is not None:
        await wait_future(accepted.commit, timeout=rt.store.timeout, what="store")
