"""Conversation rules: gap-free seq, participants, what a repeat is."""

from __future__ import annotations

from dataclasses import replace

from relay.actors.conversation import rules
from relay.domain.messages import MessageDraft


def draft(message_id: str = "msg_1", **fields: object) -> MessageDraft:
    base = MessageDraft(
        id=message_id,
        client_message_id="c1",
        conversation_id="cnv_1",
        kind="direct",
        sender="a1",
        to="a2",
        channel_id=None,
        thread_id=message_id,
        reply_to=None,
        ack_required=False,
        importance="normal",
        body="hi",
        attachments=(),
        max_attempts=5,
        ttl_seconds=60,
        recipients=("a2",),
        participants=("a1", "a2"),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_the_first_message_opens_the_conversation_at_seq_1() -> None:
    conversation, message = rules.accepted(None, draft(), now=1_000)
    assert (conversation.last_seq, message.seq) == (1, 1)
    assert conversation.participants == ("a1", "a2")
    assert conversation.last_message_at == 1_000
    assert message.expires_at == 61_000


def test_seq_follows_acceptance_order() -> None:
    conversation, _ = rules.accepted(None, draft(), now=1)
    conversation, second = rules.accepted(conversation, draft("msg_2", sender="a2"), now=2)
    conversation, third = rules.accepted(conversation, draft("msg_3"), now=3)
    assert (second.seq, third.seq, conversation.last_seq) == (2, 3, 3)


def test_participants_are_the_agents_only_once() -> None:
    conversation, _ = rules.accepted(None, draft(participants=("a2",)), now=1)
    conversation, _ = rules.accepted(conversation, draft("msg_2"), now=2)
    assert conversation.participants == ("a2", "a1")


def test_a_repeat_matches_every_chosen_field() -> None:
    _, original = rules.accepted(None, draft(), now=1_000)
    assert rules.same_send(original, draft("msg_other"))
    assert not rules.same_send(original, draft(body="other"))
    assert not rules.same_send(original, draft(ttl_seconds=61))
    assert not rules.same_send(original, draft(ack_required=True))
    assert not rules.same_send(original, draft(conversation_id="cnv_2"))
