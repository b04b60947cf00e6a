"""Conversation use cases: accept a message into its conversation."""

from __future__ import annotations

from relay.actors.conversation import messages as conversation
from relay.actors.runtime.context import Runtime
from relay.domain.messages import Message, MessageDraft


async def accept(rt: Runtime, draft: MessageDraft) -> tuple[Message, bool]:
    """The message with its seq, and whether it is new (false: a repeat of the original)."""
    return await rt.registry.ask(
        conversation.KIND, draft.conversation_id, conversation.Accept(draft)
    )
