"""A conversation's rules: its next seq, its participants, what counts as a repeat."""

from __future__ import annotations

from relay.domain.messages import Conversation, Message, MessageDraft, Recipient


def same_send(existing: Message, draft: MessageDraft) -> bool:
    """Whether ``draft`` repeats ``existing``: every field the caller chose is the same."""
    return (
        existing.conversation_id == draft.conversation_id
        and existing.to == draft.to
        and existing.channel_id == draft.channel_id
        and existing.reply_to == draft.reply_to
        and existing.ack_required == draft.ack_required
        and existing.importance == draft.importance
        and existing.body == draft.body
        and list(existing.attachments) == list(draft.attachments)
        and existing.max_attempts == draft.max_attempts
        and existing.expires_at - existing.created_at == draft.ttl_seconds * 1000
    )


def accepted(
    conversation: Conversation | None, draft: MessageDraft, now: int
) -> tuple[Conversation, Message]:
    """The conversation after accepting ``draft`` at ``now``, and the message with its seq."""
    if conversation is None:
        conversation = Conversation(
            id=draft.conversation_id,
            kind=draft.kind,
            participants=(),
            channel_id=draft.channel_id,
            pair_id=draft.pair_id,
            last_seq=0,
            last_message_at=None,
        )
    seq = conversation.last_seq + 1
    participants = tuple(dict.fromkeys([*conversation.participants, *draft.participants]))
    message = Message(
        id=draft.id,
        client_message_id=draft.client_message_id,
        conversation_id=conversation.id,
        seq=seq,
        sender=draft.sender,
        to=draft.to,
        channel_id=draft.channel_id,
        thread_id=draft.thread_id,
        reply_to=draft.reply_to,
        ack_required=draft.ack_required,
        importance=draft.importance,
        body=draft.body,
        attachments=draft.attachments,
        max_attempts=draft.max_attempts,
        expires_at=now + draft.ttl_seconds * 1000,
        created_at=now,
        recipients=tuple(Recipient(a, draft.matched_by.get(a)) for a in draft.recipients),
        sender_is_agent=draft.sender_is_agent,
    )
    after = Conversation(
        id=conversation.id,
        kind=conversation.kind,
        participants=participants,
        channel_id=conversation.channel_id,
        pair_id=conversation.pair_id,
        last_seq=seq,
        last_message_at=now,
    )
    return after, message
