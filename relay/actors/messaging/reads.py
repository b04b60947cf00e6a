"""What callers may read of messages: one message and its deliveries, a conversation.

Authorization is decided here from stored state (``relay.auth.access.acts_for``), the same
functions every route and MCP tool call.
"""

from __future__ import annotations

from typing import Any

from relay.actors.agent import orchestrators_of, placements_of
from relay.actors.runtime.context import Runtime
from relay.auth.access import Principal, acts_for, is_named, is_unconstrained_operator
from relay.domain.messages import Delivery, Message
from relay.errors import Forbidden, NotFound
from relay.store import messages as message_store
from relay.store import pairs as pair_store


async def acts_for_any(rt: Runtime, caller: Principal, agent_ids: list[str]) -> bool:
    """Whether the caller acts for one of these agents (judged on where they are stored)."""
    if is_unconstrained_operator(caller):
        return True  # a constrained operator is judged per agent, like any token
    placements = await placements_of(rt, agent_ids)
    return any(acts_for(caller, agent_id, place) for agent_id, place in placements.items())


async def sent_by_agent(rt: Runtime, message: Message) -> bool:
    """Whether the message's sender was an agent: as stored at send time (a message
    stored before that was kept: decided now)."""
    if message.sender_is_agent is not None:
        return message.sender_is_agent
    return message.sender in await orchestrators_of(rt, [message.sender])


async def readable_message(
    rt: Runtime, caller: Principal, message_id: str
) -> tuple[Message, list[Delivery], bool]:
    """The message, its deliveries, and whether the caller sees all of them (operators and
    the sender's side); 404 unknown, 403 unless the caller acts for the sender or a
    recipient."""
    message = await rt.store.run(lambda: message_store.load_message(message_id))
    if message is None:
        raise NotFound("message not found")
    deliveries = await rt.store.run(lambda: message_store.deliveries_of_message(message_id))
    # An agent sender is read by who acts for it, any other (root, an integration, a
    # token's sub) by that sub only: registering an agent of its id takes nothing.
    sender_is_agent = await sent_by_agent(rt, message)
    if sender_is_agent and await acts_for_any(rt, caller, [message.sender]):
        return message, deliveries, True
    if not sender_is_agent and is_named(caller, message.sender):
        return message, deliveries, True
    if not await acts_for_any(rt, caller, [d.agent_id for d in deliveries]):
        raise Forbidden("forbidden")
    return message, deliveries, False


async def visible_deliveries(rt: Runtime, caller: Principal, message_id: str) -> list[Delivery]:
    """All of the message's deliveries for operators and the sender's side, else the
    caller's own."""
    _message, deliveries, everything = await readable_message(rt, caller, message_id)
    if everything:
        return deliveries
    placements = await placements_of(rt, [d.agent_id for d in deliveries])
    return [d for d in deliveries if acts_for(caller, d.agent_id, placements.get(d.agent_id))]


async def conversation_messages(
    rt: Runtime, caller: Principal, conversation_id: str, after_seq: int, limit: int
) -> dict[str, Any]:
    """``{conversationId, lastSeq, messages}`` for unconstrained operators and callers
    acting for a participant; 404 ``conversation not found``.

    A pair's conversation is its parties' alike (only they post in it). In a direct or a
    channel's, such a caller reads what the agents it acts for sent or were delivered, as
    ``GET /api/messages/:id`` reads each message: an agent bound to a channel (a binding its
    host's operator may add), or brought into a direct conversation by a reply sent as it,
    is not handed what others were sent there, before it joined or since.
    """
    found = await rt.store.run(lambda: message_store.load_conversation(conversation_id))
    if found is None:
        raise NotFound("conversation not found")
    agents: list[str] | None = None
    if not is_unconstrained_operator(caller):
        readers = list(found.participants)
        if found.kind == "pair" and found.pair_id is not None:
            # Its parties, as stored with the pair: a participant stored otherwise (the
            # sender of its openings, once counted as an agent) reads none of it.
            pair_id = found.pair_id
            pair = await rt.store.run(lambda: pair_store.load(pair_id))
            readers = [] if pair is None else [pair.driver, pair.navigator]
        placements = await placements_of(rt, readers)
        acted = [a for a, place in placements.items() if acts_for(caller, a, place)]
        if not acted:
            raise Forbidden("forbidden")
        agents = None if found.kind == "pair" else acted
    messages = await rt.store.run(
        lambda: message_store.conversation_messages(conversation_id, after_seq, limit, agents)
    )
    return {
        "conversationId": found.id,
        "lastSeq": found.last_seq,
        "messages": [m.to_json() for m in messages],
    }
