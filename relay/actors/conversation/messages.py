"""The messages ConversationActor understands; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.runtime.bridge import Ask
from relay.domain.messages import Message, MessageDraft

KIND = "conversation"


@dataclass(frozen=True, slots=True)
class Accept(Ask[tuple[Message, bool]]):
    """Give the draft the conversation's next ``seq`` and store it. Replies
    ``(message, created)``: a repeat of ``(from, clientMessageId)`` with the same input
    replies the original with ``created`` false.

    Raises Conflict ``clientMessageId already used for a different message``.
    """

    draft: MessageDraft
