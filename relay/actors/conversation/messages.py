"""The messages ConversationActor understands; each names the reply it gets."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass
from typing import Any

from relay.actors.runtime.bridge import Ask
from relay.domain.messages import Message, MessageDraft

KIND = "conversation"


@dataclass(frozen=True, slots=True)
class Accepted:
    """``Accept``'s reply, before its write is known to be committed: ``commit`` resolves
    once it is (None: nothing to wait for). The caller waits for it before answering, and
    may queue writes that depend on the message meanwhile (they commit after it)."""

    message: Message
    created: bool  # false: a repeat, answered with the original
    commit: concurrent.futures.Future[Any] | None


@dataclass(frozen=True, slots=True)
class Accept(Ask[Accepted]):
    """Give the draft the conversation's next ``seq`` and queue its write. Replies
    ``Accepted``: a repeat of ``(from, clientMessageId)`` with the same input replies the
    original with ``created`` false.

    Raises Conflict ``clientMessageId already used for a different message``.
    """

    draft: MessageDraft
