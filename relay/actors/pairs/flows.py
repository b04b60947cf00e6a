"""Pair use cases on the trio side: create, act, message, read.

Who the caller is to a pair (a party, its creator, an operator) is judged here from
stored state with ``relay.auth.access.acts_for``; the PairActor decides the rest.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from relay.actors import messaging
from relay.actors.pairs import messages as msgs
from relay.actors.pairs import rules
from relay.actors.pairs.rules import Acting
from relay.actors.runtime.context import Runtime
from relay.auth.access import Principal, acts_for, is_operator
from relay.domain.pairs import Pair, PairAction, new_pair_id, pair_conversation_id
from relay.errors import Forbidden, Invalid, NotFound, RelayError
from relay.store import agents as agent_store
from relay.store import pairs as pair_store

RELAY_SENDER = "relay"


@dataclass(frozen=True, slots=True)
class NewPair:
    driver: str
    navigator: str
    task_id: str | None = None
    objective: str | None = None


async def _owners(rt: Runtime, agent_ids: tuple[str, ...]) -> dict[str, str | None]:
    return await rt.store.run(lambda: agent_store.orchestrators_of(agent_ids))


async def _acting(rt: Runtime, caller: Principal, pair: Pair) -> Acting:
    owners = await _owners(rt, pair.parties)
    return Acting(
        driver=pair.driver in owners and acts_for(caller, pair.driver, owners[pair.driver]),
        navigator=pair.navigator in owners
        and acts_for(caller, pair.navigator, owners[pair.navigator]),
        creator=caller.sub == pair.created_by,
        operator=is_operator(caller),
    )


async def create(rt: Runtime, caller: Principal, data: NewPair) -> Pair:
    """Form a pair and send each party its opening message.

    Raises Invalid ``driver and navigator must differ``; Forbidden unless the caller acts
    for a party; NotFound ``agent not found``; Conflict ``agent <id> is already in pair
    <pairId>`` (decided by the one PairPartiesActor, so concurrent creates cannot both win).
    """
    rules.check_create(data.driver, data.navigator, data.objective)
    parties = (data.driver, data.navigator)
    owners = await _owners(rt, parties)
    acting = Acting(
        driver=acts_for(caller, data.driver, owners.get(data.driver)),
        navigator=acts_for(caller, data.navigator, owners.get(data.navigator)),
        operator=is_operator(caller),
    )
    if not (acting.party or acting.operator):
        raise Forbidden("forbidden")
    if any(agent not in owners for agent in parties):
        raise NotFound("agent not found")
    pair_id = new_pair_id()
    now = rt.clock.now_ms()
    joined = rules.joined_at_create(data.driver, data.navigator, acting)
    pair = Pair(
        id=pair_id,
        driver=data.driver,
        navigator=data.navigator,
        task_id=data.task_id,
        objective=data.objective,
        conversation_id=pair_conversation_id(pair_id),
        status=rules.status_of_joined(joined),
        joined=joined,
        created_by=caller.sub,
        version=1,
        created_at=now,
        updated_at=now,
    )
    await rt.registry.ask(msgs.PARTIES_KIND, msgs.PARTIES_KEY, msgs.Reserve(pair_id, parties))
    try:
        stored = await rt.registry.ask(msgs.KIND, pair_id, msgs.Create(pair))
    except RelayError:
        with contextlib.suppress(RelayError):
            await rt.registry.ask(msgs.PARTIES_KIND, msgs.PARTIES_KEY, msgs.Release(pair_id))
        raise
    await _open(rt, stored)
    return stored


def opening_text(pair: Pair) -> str:
    text = f"pair {pair.id}: {pair.driver} drives, {pair.navigator} navigates"
    return text if pair.task_id is None else f"{text}; task {pair.task_id}"


async def _open(rt: Runtime, pair: Pair) -> None:
    """From ``relay``, to each party, in the pair's conversation. The client message id is
    derived from the pair, so sending them again (a retry) adds nothing."""
    for agent in pair.parties:
        await messaging.send_in_conversation(
            rt,
            sender=RELAY_SENDER,
            to=agent,
            conversation_id=pair.conversation_id,
            kind="pair",
            pair_id=pair.id,
            data=messaging.SendInput(
                body=opening_text(pair), client_message_id=f"{pair.id}:open:{agent}"
            ),
        )


async def readable(rt: Runtime, caller: Principal, pair_id: str) -> tuple[Pair, Acting]:
    """The pair and what the caller is to it; 404 unknown, 403 unless a party, its
    creator or an operator."""
    pair = await rt.store.run(lambda: pair_store.load(pair_id))
    if pair is None:
        raise NotFound("pair not found")
    acting = await _acting(rt, caller, pair)
    if not (acting.party or acting.creator or acting.operator):
        raise Forbidden("forbidden")
    return pair, acting


async def listed(
    rt: Runtime, caller: Principal, agent_id: str | None, status: str | None, limit: int
) -> list[Pair]:
    """Pairs the caller may read (parties, creators, operators), newest first."""
    found = await rt.store.run(lambda: pair_store.listed(agent_id, status, limit))
    if is_operator(caller):
        return found
    owners = await _owners(rt, tuple({a for p in found for a in p.parties}))
    return [
        p
        for p in found
        if p.created_by == caller.sub
        or any(a in owners and acts_for(caller, a, owners[a]) for a in p.parties)
    ]


def _sender(pair: Pair, acting: Acting) -> tuple[str, str]:
    """(sender, recipient) of a party's message: the party the caller acts for."""
    if acting.driver and acting.navigator:
        raise Invalid("the caller acts for both parties: send as one of them")
    if acting.driver:
        return pair.driver, pair.navigator
    if acting.navigator:
        return pair.navigator, pair.driver
    raise Forbidden("only the driver or navigator may message")


async def act(
    rt: Runtime,
    caller: Principal,
    pair_id: str,
    action: PairAction,
    *,
    message: str | None = None,
    version: int | None = None,
) -> Pair:
    """Apply ``action``; ``message`` (required for action ``message``) goes to the other
    party in the pair's conversation.

    Raises Invalid, NotFound ``pair not found``, Forbidden ``only the … may <action>``,
    Conflict ``pair is <status>; cannot <action>``.
    """
    if action == "message" and not message:
        raise Invalid("message is required for action message")
    pair, acting = await readable(rt, caller, pair_id)
    after = await rt.registry.ask(msgs.KIND, pair_id, msgs.Act(action, acting, version))
    if action == "message" and message:
        sender, to = _sender(pair, acting)
        await _send(rt, after, sender, to, messaging.SendInput(body=message))
    return after


async def send(
    rt: Runtime, caller: Principal, pair_id: str, data: messaging.SendInput
) -> messaging.Sent:
    """``POST /api/pairs/:id/messages``: a party's message to the other party.

    Raises NotFound, Forbidden (not a party), Conflict ``pair is <status>`` once final,
    and the send's own refusals.
    """
    pair, acting = await readable(rt, caller, pair_id)
    if not acting.party:
        raise Forbidden("forbidden")
    rules.send_check(pair)
    sender, to = _sender(pair, acting)
    return await _send(rt, pair, sender, to, data)


async def _send(
    rt: Runtime, pair: Pair, sender: str, to: str, data: messaging.SendInput
) -> messaging.Sent:
    return await messaging.send_in_conversation(
        rt,
        sender=sender,
        to=to,
        conversation_id=pair.conversation_id,
        kind="pair",
        pair_id=pair.id,
        data=data,
    )
