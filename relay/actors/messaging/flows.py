"""Messaging use cases: send (to an agent, a channel, as a reply, or into a pair's
conversation). What callers may read is ``reads``.

The HTTP routes and the MCP tools call these; the sender is authorized here from stored
state, with ``relay.auth.access.acts_for``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from relay.actors import artifacts, channels, conversation, inbox
from relay.actors.agent import agent_facts, facts_of, wake_agent
from relay.actors.messaging.enqueue import enqueue_all, enqueue_behind
from relay.actors.messaging.inputs import SendInput, Sent
from relay.actors.messaging.reads import sent_by_agent
from relay.actors.messaging.repeats import is_repeat, stored_repeat
from relay.actors.messaging.replies import reply_parent
from relay.actors.messaging.rules import check_send, other_party, unregistered_sender
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.directory import AgentFacts
from relay.auth.access import Principal, acts_for, own_agent, sub_is_agent
from relay.domain.agents import AgentCard
from relay.domain.messages import (
    RELAY_SENDER,
    ConversationKind,
    Message,
    MessageDraft,
    direct_conversation_id,
    new_id,
)
from relay.errors import Conflict, Forbidden, NotFound, Unavailable
from relay.store import agents as agent_store
from relay.store import messages as message_store

log = logging.getLogger("relay.actors.messaging")


async def _known(rt: Runtime, agent_ids: list[str | None]) -> dict[str, AgentFacts]:
    """Which of these are agents, with where they are stored: from the agents' actors where
    they hold them (a direct send then reads no card), else from the store."""
    return await agent_facts(rt, [a for a in agent_ids if a is not None])


async def _card(rt: Runtime, agent_id: str) -> AgentCard | None:
    wanted = (agent_id,)
    return (await rt.store.run(lambda: agent_store.cards_of(wanted))).get(agent_id)


def _sender(caller: Principal, given: str | None, known: dict[str, AgentFacts]) -> tuple[str, bool]:
    """The spec's sender rule, judged on ``known`` (which holds ``given`` and the caller's
    ``sub`` where they are agents), and whether that sender is an agent; 403/404 when the
    caller may not send as ``given``."""
    if given is None:
        mine = own_agent(caller)
        if mine is not None:
            # The one agent its constraints name, if it acts for it: its other constraints
            # (an orchestrator) must cover that agent as stored, as for a given ``from``.
            facts = known.get(mine)
            if facts is not None and not acts_for(caller, mine, facts.placement):
                raise Forbidden("forbidden")
            return mine, facts is not None
        # Its sub, unless that names an agent it does not act for: a token minted with an
        # agent's id as its subject must not speak as that agent.
        facts = known.get(caller.sub)
        if facts is not None and not acts_for(caller, caller.sub, facts.placement):
            raise Forbidden("forbidden")
        # An operator speaks as itself (``sub_is_agent``): an agent a host registers under
        # its sub takes none of its messages, nor the replies to them.
        return caller.sub, facts is not None and sub_is_agent(caller)
    facts = known.get(given)
    if facts is None:
        if acts_for(caller, given, None):
            raise NotFound("agent not found")
        raise Forbidden("forbidden")
    if not acts_for(caller, given, facts.placement):
        raise Forbidden("forbidden")
    return given, True


def _checked(rt: Runtime, data: SendInput, *, to: str | None) -> tuple[int, int]:
    """``(ttlSeconds, maxAttempts)`` with the relay's defaults for those not given, once the
    send's fields pass ``check_send`` (Invalid with the spec's message otherwise)."""
    settings = rt.settings
    ttl_seconds = data.ttl_seconds if data.ttl_seconds is not None else settings.message_ttl_seconds
    max_attempts = (
        data.max_attempts if data.max_attempts is not None else settings.message_max_attempts
    )
    check_send(
        to=to,
        channel_id=data.channel_id,
        reply_to=data.reply_to,
        body=data.body,
        client_message_id=data.client_message_id,
        importance=data.importance,
        attachments=data.attachments,
        ttl_seconds=ttl_seconds,
        max_attempts=max_attempts,
    )
    return ttl_seconds, max_attempts


async def send(rt: Runtime, caller: Principal, data: SendInput) -> Sent:
    """Accept a message into its conversation and queue one delivery per recipient.

    Raises Invalid, Forbidden, NotFound and Conflict with the spec's messages; a repeat of
    ``(from, clientMessageId)`` with the same input returns the original (``created``
    false) and queues nothing new.
    """
    limits = _checked(rt, data, to=data.to)
    # Every agent the send names (its sender, its addressee) at once, shared by the sender
    # rule, the recipient check and the wake: each store round trip costs the hot path.
    known = await _known(rt, [data.sender or own_agent(caller) or caller.sub, data.to])
    sender, sender_is_agent = _sender(caller, data.sender, known)
    try:
        return await _send_as(rt, caller, data, sender, sender_is_agent, known, limits)
    except (NotFound, Forbidden, Conflict):
        # Refused as things are now (its recipient or channel deleted, the sender's outbound
        # binding removed since): a repeat is still answered with the original while it
        # is retained (promise 1). Looked up only now, so a send pays no extra read.
        repeat = await stored_repeat(rt, sender, sender_is_agent, data, limits)
        if repeat is None:
            raise
        return Sent(repeat.message, repeat.deliveries, created=False)


async def _send_as(
    rt: Runtime,
    caller: Principal,
    data: SendInput,
    sender: str,
    sender_is_agent: bool,
    known: dict[str, AgentFacts],
    limits: tuple[int, int],
) -> Sent:
    ttl_seconds, max_attempts = limits
    attachments = await _attachment_refs(rt, caller, data.attachments)

    parent: Message | None = None
    if data.reply_to is not None:
        parent = await reply_parent(
            rt,
            caller,
            data.reply_to,
            sender,
            data.client_message_id,
            in_its_conversation=data.to is None and data.channel_id is None,
        )

    to = data.to
    channel_id = data.channel_id
    conversation_id: str
    kind: ConversationKind
    matched: dict[str, dict[str, str]] = {}
    route: channels.ChannelRoute | None = None
    recipient_cards: dict[str, AgentCard] = {}  # as routing read them: the wake reads none
    if to is None and channel_id is None and parent is not None:
        if parent.channel_id is not None:
            channel_id = parent.channel_id
        else:
            to = other_party(sender, parent.sender, parent.to)
            known.update(await _known(rt, [to]))
            # The parent's sender as it was when it sent: one that was no agent is never
            # answered in the inbox of an agent registered under its name since.
            was_agent = to != parent.sender or await sent_by_agent(rt, parent)
            if to not in known or not was_agent:
                raise Conflict(f"cannot reply to {to}: not an agent")
    if to is not None:
        if to not in known:
            raise NotFound("agent not found")
        recipients = [to]
        kind = "direct"
        conversation_id = (
            parent.conversation_id
            if parent is not None and data.to is None
            else direct_conversation_id(sender, to, a_is_agent=sender_is_agent)
        )
    else:
        assert channel_id is not None
        # Outbound bindings match the sending agent's card (its label, tags, capabilities).
        sender_card = await _card(rt, sender) if sender_is_agent else None
        if sender_card is None and sender == own_agent(caller):
            sender_card = unregistered_sender(sender)
        route = await _channel_route(rt, sender, sender_card, channel_id, data.client_message_id)
        recipients = [t.agent_id for t in route.targets]
        matched = {t.agent_id: t.to_json()["matchedBy"] for t in route.targets}
        recipient_cards = {card.id: card for card in route.agents if card.id in matched}
        known.update({agent_id: facts_of(card) for agent_id, card in recipient_cards.items()})
        kind = "channel"
        conversation_id = (
            parent.conversation_id
            if parent is not None and data.channel_id is None
            else route.channel.conversation_id
        )

    message_id = new_id("msg_")
    draft = MessageDraft(
        id=message_id,
        client_message_id=data.client_message_id or message_id,
        conversation_id=conversation_id,
        kind=kind,
        sender=sender,
        to=to,
        channel_id=channel_id,
        thread_id=parent.thread_id if parent is not None else message_id,
        reply_to=data.reply_to,
        ack_required=data.ack_required,
        importance=data.importance,
        body=data.body,
        attachments=attachments,
        max_attempts=max_attempts,
        ttl_seconds=ttl_seconds,
        recipients=tuple(recipients),
        participants=tuple(dict.fromkeys([*([sender] if sender_is_agent else []), *recipients])),
        matched_by=matched,
        sender_is_agent=sender_is_agent,
    )
    accepted = await conversation.accept_queued(rt, draft)
    message, created = accepted.message, accepted.created
    if created:
        queued = await enqueue_behind(rt, accepted, recipients, matched)
    else:
        await conversation.committed(rt, accepted)
        # A repeat answers with every delivery of the original, queuing those a send cut
        # short left out. A channel's route may have changed since (its exclusive pick has
        # rotated): a message stored before recipients were kept queues nothing more once
        # it has a delivery.
        stored = await rt.store.run(lambda: message_store.deliveries_of_message(message.id))
        if stored and kind == "channel" and not message.recipients:
            return Sent(message, stored, created)
        if message.recipients:
            # The original's recipients as stored (the delivery repair queues the same
            # ones): the route of now must not add a second exclusive pick.
            recipients = [r.agent_id for r in message.recipients]
            matched = {r.agent_id: r.matched_by for r in message.recipients if r.matched_by}
        queued = await enqueue_all(rt, recipients, message, matched, repeat=True)
    deliveries = [delivery for delivery, _first in queued]
    for agent_id, (_delivery, first) in zip(recipients, queued, strict=True):
        facts = known.get(agent_id)
        # Only a runner-managed agent is woken: known not to be one, nothing is read.
        if first and created and (facts is None or facts.runner_managed):
            await _wake(rt, agent_id, message, recipient_cards.get(agent_id))
    if not created:
        deliveries = await rt.store.run(lambda: message_store.deliveries_of_message(message.id))
    return Sent(message, deliveries, created)


def check_in_conversation(rt: Runtime, data: SendInput, *, to: str) -> tuple[int, int]:
    """What ``send_in_conversation`` checks of ``data``'s fields before anything is stored:
    ``(ttlSeconds, maxAttempts)``, or Invalid with the spec's message. A flow that changes
    something before such a send checks it first, so bad input changes nothing."""
    return _checked(rt, replace(data, channel_id=None, reply_to=None), to=to)


async def send_in_conversation(
    rt: Runtime,
    caller: Principal,
    *,
    sender: str,
    to: str,
    conversation_id: str,
    kind: ConversationKind,
    pair_id: str | None,
    data: SendInput,
) -> Sent:
    """Send ``data`` from ``sender`` (already authorized by the caller) to agent ``to`` in a
    given conversation: a pair's, whose party a flow above has checked. Attachments are
    resolved for ``caller`` as ``send`` does (404 unknown, 403 a secret one it may not read).

    Raises Invalid for a bad field; a repeat of ``(sender, clientMessageId)`` returns the
    original (``created`` false) and queues nothing new.
    """
    ttl_seconds, max_attempts = check_in_conversation(rt, data, to=to)
    attachments = await _attachment_refs(rt, caller, data.attachments)
    message_id = new_id("msg_")
    # The relay's own sends (a pair's opening messages) are never an agent's, not even one
    # kept under that name from before it was reserved.
    sender_is_agent = sender != RELAY_SENDER and sender in await _known(rt, [sender])
    draft = MessageDraft(
        id=message_id,
        client_message_id=data.client_message_id or message_id,
        conversation_id=conversation_id,
        kind=kind,
        sender=sender,
        to=to,
        channel_id=None,
        thread_id=message_id,
        reply_to=None,
        ack_required=data.ack_required,
        importance=data.importance,
        body=data.body,
        attachments=attachments,
        max_attempts=max_attempts,
        ttl_seconds=ttl_seconds,
        recipients=(to,),
        participants=tuple(dict.fromkeys([*([sender] if sender_is_agent else []), to])),
        pair_id=pair_id,
        sender_is_agent=sender_is_agent,
    )
    accepted = await conversation.accept_queued(rt, draft)
    message, created = accepted.message, accepted.created
    if created:
        ((delivery, first),) = await enqueue_behind(rt, accepted, [to], {})
    else:
        await conversation.committed(rt, accepted)
        delivery, first = await inbox.enqueue(rt, to, message, matched_by=None, repeat=True)
    if first and created:
        await _wake(rt, to, message, None)
    return Sent(message, [delivery], created)


async def _attachment_refs(
    rt: Runtime, caller: Principal, attachments: list[dict[str, Any]]
) -> tuple[dict[str, Any], ...]:
    """Each ``{artifactId}`` as the ``AttachmentRef`` the message keeps (its fields outlive
    the artifact); 404 ``artifact not found`` for one unknown or deleted, 403 for a secret
    one the caller may not read (attaching it would hand it to the recipients)."""
    refs = []
    for attachment in attachments:
        artifact = await artifacts.allow_artifact(rt, caller, str(attachment.get("artifactId")))
        refs.append(artifact.ref().to_json())
    return tuple(refs)


async def resolve_sender(
    rt: Runtime, caller: Principal, given: str | None = None
) -> tuple[str, bool]:
    """The spec's sender rule (messaging.md), for other use cases that record who did
    something (an artifact's ``createdBy``), and whether that is an agent (kept with the
    record: who reads as its creator is judged on it); 403/404 as a send would answer."""
    known = await _known(rt, [given or own_agent(caller) or caller.sub])
    return _sender(caller, given, known)


async def _channel_route(
    rt: Runtime,
    sender: str,
    sender_card: AgentCard | None,
    channel_id: str,
    client_message_id: str | None,
) -> channels.ChannelRoute:
    """Whom a post to the channel reaches, as ``GET …/route`` answers (promise 4).

    Raises NotFound ``channel not found``; Forbidden when the sending agent has no
    outbound binding; Conflict when nobody matches or too many do. A repeat of a stored
    message is spared the two conflicts: it answers with the original's deliveries.
    """
    # A repeat of a stored (sender, clientMessageId) — answered with the original, or
    # refused 409 by ``conversation.accept`` for a different body — must not move the
    # exclusive rotation: it routes as the dry run does, committing no pick. Repeats racing
    # an original not yet stored are caught by the channel actor (``client_message_id``).
    repeat = await is_repeat(rt, sender, client_message_id)
    route = await channels.channel_route(
        rt,
        channel_id,
        sender,
        commit=not repeat,
        client_message_id=client_message_id,
        check_post=True,
        sender_card=sender_card,
    )
    limit = rt.settings.channel_max_recipients
    if repeat or (route.targets and len(route.targets) <= limit):
        return route
    if not route.targets:
        raise Conflict(f"no agent matches channel {channel_id}")
    raise Conflict(f"channel {channel_id} matches more than {limit} agents")


async def _wake(rt: Runtime, agent_id: str, message: Message, card: AgentCard | None) -> None:
    """The first delivery into an empty inbox wakes a runner-managed agent. The delivery
    is committed already: a wake that cannot be queued now is logged, never an error."""
    try:
        await wake_agent(
            rt,
            agent_id,
            "message",
            message_id=message.id,
            sender=message.sender,
            importance=message.importance,
            card=card,
        )
    except Unavailable as error:
        log.warning("agent_wake_unavailable agent=%s message=%s: %s", agent_id, message.id, error)
