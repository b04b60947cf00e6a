"""Pair use cases on the trio side: create, act, message, read.

Who the caller is to a pair (a party, its creator, an operator) is judged here from
stored state with ``relay.auth.access.acts_for``; the PairActor decides the rest.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import trio

from relay.actors import messaging
from relay.actors.agent import placements_of
from relay.actors.pairs import messages as msgs
from relay.actors.pairs import rules
from relay.actors.pairs.rules import Acting
from relay.actors.runtime.context import Runtime
from relay.actors.tasks.flows import check_linked
from relay.auth.access import (
    Principal,
    acts_for,
    is_named,
    is_operator,
    is_unconstrained_operator,
    own_agent,
    sub_is_agent,
)
from relay.domain.agents import Placement
from relay.domain.messages import RELAY_SENDER
from relay.domain.pairs import Pair, PairAction, new_pair_id, pair_conversation_id
from relay.errors import Conflict, Forbidden, Invalid, NotFound, RelayError
from relay.store import agents as agent_store
from relay.store import messages as message_store
from relay.store import pairs as pair_store

log = logging.getLogger("relay.actors.pairs")


@dataclass(frozen=True, slots=True)
class NewPair:
    driver: str
    navigator: str
    task_id: str | None = None
    objective: str | None = None


async def _placements(rt: Runtime, agent_ids: tuple[str, ...]) -> dict[str, Placement]:
    # The agents' directory first (what their actors last committed), the store for the rest.
    return await placements_of(rt, agent_ids)


def _is_creator(caller: Principal, pair: Pair, owners: dict[str, Placement]) -> bool:
    """As tasks' ``may_manage``: acting for the creator when it is an agent (as stored at
    create: an agent registered since under a sub's name takes nothing), being it (a
    ``sub`` bound to no agent) only when it is not."""
    created_by = pair.created_by
    is_agent = pair.created_by_agent
    if is_agent is None:  # stored before the kind was: decided now
        is_agent = created_by in owners
    if is_agent:
        return acts_for(caller, created_by, owners.get(created_by))
    return is_named(caller, created_by)


async def _acting(rt: Runtime, caller: Principal, pair: Pair) -> Acting:
    owners = await _placements(rt, (*pair.parties, pair.created_by))
    return Acting(
        driver=pair.driver in owners and acts_for(caller, pair.driver, owners[pair.driver]),
        navigator=pair.navigator in owners
        and acts_for(caller, pair.navigator, owners[pair.navigator]),
        creator=_is_creator(caller, pair, owners),
        operator=is_unconstrained_operator(caller),
    )


async def create(rt: Runtime, caller: Principal, data: NewPair) -> Pair:
    """Form a pair and send each party its opening message.

    Raises Invalid ``driver and navigator must differ``; Forbidden unless the caller acts
    for a party; NotFound ``agent not found``; Conflict ``agent <id> is already in pair
    <pairId>`` (decided by the one PairPartiesActor, so concurrent creates cannot both win).
    """
    rules.check_create(data.driver, data.navigator, data.objective)
    parties = (data.driver, data.navigator)
    owners = await _placements(rt, (*parties, caller.sub))
    acting = Acting(
        driver=acts_for(caller, data.driver, owners.get(data.driver)),
        navigator=acts_for(caller, data.navigator, owners.get(data.navigator)),
        operator=is_unconstrained_operator(caller),
    )
    if not (acting.party or acting.operator):
        raise Forbidden("forbidden")
    if any(agent not in owners for agent in parties):
        raise NotFound("agent not found")
    if data.task_id is not None:
        await check_linked(rt, [data.task_id])
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
        # An operator creates as itself, never as an agent a host registered under its sub.
        created_by_agent=caller.sub in owners and sub_is_agent(caller),
        version=1,
        created_at=now,
        updated_at=now,
    )
    try:
        await rt.registry.ask(msgs.PARTIES_KIND, msgs.PARTIES_KEY, msgs.Reserve(pair_id, parties))
    except Conflict:
        raise  # refused: nothing was reserved
    except BaseException:
        await _abandon(rt, pair_id)
        raise
    try:
        stored = await rt.registry.ask(msgs.KIND, pair_id, msgs.Create(pair))
    except BaseException:
        await _abandon(rt, pair_id)
        raise
    # The pair is committed: its opening messages are best-effort from here (a failure
    # must not answer 503 for a pair that exists). Missed ones are sent again, under the
    # same client message ids, on the next action on the pair.
    await _open_best_effort(rt, caller, stored)
    return stored


async def _abandon(rt: Runtime, pair_id: str) -> None:
    """Free what a create that did not finish reserved, unless its pair was stored after
    all: however it ended (a refusal, a timeout, the request cancelled), so no agent stays
    taken by a pair that does not exist. Shielded: a cancelled request still does it."""
    with trio.CancelScope(shield=True):
        try:
            await rt.registry.ask(msgs.KIND, pair_id, msgs.Abandon())
        except RelayError as error:
            # The pair's actor could not even load (the store is down, the usual reason a
            # create fails): free the parties in the index (memory) directly, or they stay
            # taken by a pair that most likely does not exist until a restart.
            log.warning("pair_abandon_failed pair=%s: %s", pair_id, error)
            with contextlib.suppress(RelayError):
                await rt.registry.ask(msgs.PARTIES_KIND, msgs.PARTIES_KEY, msgs.Release(pair_id))


def opening_text(pair: Pair) -> str:
    text = f"pair {pair.id}: {pair.driver} drives, {pair.navigator} navigates"
    return text if pair.task_id is None else f"{text}; task {pair.task_id}"


async def _open_best_effort(
    rt: Runtime, caller: Principal, pair: Pair, *, missing_only: bool = False
) -> None:
    try:
        await _open(rt, caller, pair, missing_only=missing_only)
    except RelayError as error:
        log.warning("pair_open_failed pair=%s: %s", pair.id, error)


async def _stored_opening(rt: Runtime, client_message_id: str) -> bool:
    found = await rt.store.run(
        lambda: message_store.find_by_client_id(RELAY_SENDER, client_message_id)
    )
    return found is not None


async def _open(rt: Runtime, caller: Principal, pair: Pair, *, missing_only: bool = False) -> None:
    """From ``relay``, to each party, in the pair's conversation. The client message id is
    derived from the pair, so sending them again (a retry) adds nothing.

    ``missing_only`` (the resend on a later action) skips an opening already stored: its
    deliveries, if a send was cut short, are the messaging delivery repair's business,
    and a resend must not queue again one that retention has since removed.
    """
    for agent in pair.parties:
        cmid = f"{pair.id}:open:{agent}"
        if missing_only and await _stored_opening(rt, cmid):
            continue
        await messaging.send_in_conversation(
            rt,
            caller,
            sender=RELAY_SENDER,
            to=agent,
            conversation_id=pair.conversation_id,
            kind="pair",
            pair_id=pair.id,
            data=messaging.SendInput(body=opening_text(pair), client_message_id=cmid),
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
    """Pairs the caller may read (parties, creators, operators), newest first.

    Visibility is decided in the query, before ``limit``: a page cut first and filtered
    after would hide the caller's own pairs behind others'.
    """
    visible = None if is_unconstrained_operator(caller) else await _visibility(rt, caller)
    return await rt.store.run(lambda: pair_store.listed(agent_id, status, limit, visible))


async def _visibility(rt: Runtime, caller: Principal) -> pair_store.Visible | None:
    """Which pairs a caller that is no unconstrained operator reads, as the store filters
    them: those with a party or an agent creator it acts for, and those created by its
    ``sub`` when that is the creator by ``_is_creator``'s rule. None: every pair."""
    candidates: list[str]
    agents = caller.constraints.get("agents")
    orchestrators = caller.constraints.get("orchestrators")
    if agents is not None:
        candidates = list(agents)
    elif orchestrators is not None and (is_operator(caller) or caller.role == "orchestrator"):
        orchs = tuple(orchestrators)
        candidates = await rt.store.run(lambda: agent_store.ids_of_orchestrators(orchs))
    elif is_operator(caller) and "cwd" in caller.constraints:
        # It acts for the agents working within its paths, wherever they are registered:
        # which those are, only every card's stored cwd says.
        candidates = list(await rt.store.run(agent_store.all_placements))
    elif is_operator(caller):
        return None  # limited by no agent, orchestrator or path: acts for every agent
    else:
        candidates = []
    owners = await _placements(rt, (*candidates, caller.sub))
    acted_for = tuple(a for a in candidates if a in owners and acts_for(caller, a, owners[a]))
    by_sub = own_agent(caller) is None
    return pair_store.Visible(
        agents=acted_for,
        created_by=caller.sub if by_sub else None,
        sub_is_agent=caller.sub in owners,
    )


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
    # A message with any action goes to the other party: who sends it, and whether the
    # send's fields pass, are settled before the action is applied, so a caller who may
    # not send it, or a message the send would refuse, changes nothing.
    note = messaging.SendInput(body=message) if message else None
    parties = _sender(pair, acting) if note is not None else None
    if note is not None and parties is not None:
        messaging.check_in_conversation(rt, note, to=parties[1])
    await _open_best_effort(rt, caller, pair, missing_only=True)
    after = await rt.registry.ask(msgs.KIND, pair_id, msgs.Act(action, acting, version))
    if note is not None and parties is not None:
        sender, to = parties
        await _send(rt, caller, after, sender, to, note)
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
    sender, to = _sender(pair, acting)
    if pair.final:
        # A repeat of a message accepted before the pair ended is answered with it (200),
        # as any repeat; anything else is refused.
        if not await messaging.is_repeat(rt, sender, data.client_message_id):
            rules.send_check(pair)
        return await _send(rt, caller, pair, sender, to, data)
    await _open_best_effort(rt, caller, pair, missing_only=True)
    return await _send(rt, caller, pair, sender, to, data)


async def _send(
    rt: Runtime,
    caller: Principal,
    pair: Pair,
    sender: str,
    to: str,
    data: messaging.SendInput,
) -> messaging.Sent:
    return await messaging.send_in_conversation(
        rt,
        caller,
        sender=sender,
        to=to,
        conversation_id=pair.conversation_id,
        kind="pair",
        pair_id=pair.id,
        data=data,
    )
