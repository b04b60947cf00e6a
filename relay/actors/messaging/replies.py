"""What a reply may answer: its parent, read by who acts for one of its parties, and a
pair's conversation only while the pair is open."""

from __future__ import annotations

from relay.actors.messaging.reads import acts_for_any, sent_by_agent
from relay.actors.messaging.repeats import is_repeat
from relay.actors.runtime.context import Runtime
from relay.auth.access import Principal, is_named
from relay.domain.messages import Message
from relay.errors import Conflict, Forbidden, NotFound
from relay.store import messages as message_store
from relay.store import pairs as pair_store


async def reply_parent(
    rt: Runtime,
    caller: Principal,
    reply_to: str,
    sender: str,
    client_message_id: str | None,
    *,
    in_its_conversation: bool,
) -> Message:
    """The message replied to. 404 ``message not found``; 403 unless the caller acts for
    its sender or a recipient; and, for a reply that stays in the parent's conversation
    (``in_its_conversation``: no ``to`` or ``channelId`` of its own), into a pair's only
    from a party (403 ``only the driver or navigator may message``) and 409 ``pair is
    <status>`` into a final pair's, as the pair's own route, unless it is a repeat."""
    parent = await rt.store.run(lambda: message_store.load_message(reply_to))
    if parent is None:
        raise NotFound("message not found")
    recipients = [
        d.agent_id
        for d in await rt.store.run(lambda: message_store.deliveries_of_message(reply_to))
    ]
    # Its sender's side as ``readable_message`` judges it: an agent by who acts for it,
    # a sender that was no agent by its own sub, never by an agent of the same name.
    if await sent_by_agent(rt, parent):
        allowed = await acts_for_any(rt, caller, [parent.sender, *recipients])
    else:
        allowed = is_named(caller, parent.sender) or await acts_for_any(rt, caller, recipients)
    if not allowed:
        raise Forbidden("forbidden")
    if in_its_conversation:
        await _refuse_a_final_pair(rt, parent.conversation_id, sender, client_message_id)
    return parent


async def _refuse_a_final_pair(
    rt: Runtime, conversation_id: str, sender: str, client_message_id: str | None
) -> None:
    conversation = await rt.store.run(lambda: message_store.load_conversation(conversation_id))
    pair_id = conversation.pair_id if conversation is not None else None
    if pair_id is None:
        return
    pair = await rt.store.run(lambda: pair_store.load(pair_id))
    if pair is None:
        return
    if sender not in (pair.driver, pair.navigator):
        # A pair's conversation is its parties', as the pair's own route has it.
        raise Forbidden("only the driver or navigator may message")
    if pair.final and not await is_repeat(rt, sender, client_message_id):
        raise Conflict(f"pair is {pair.status}")
