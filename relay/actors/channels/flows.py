"""Channel use cases the HTTP routes, the send path and MCP share."""

from __future__ import annotations

from collections.abc import Sequence

from relay.actors.channels import messages as channel
from relay.actors.channels import rules
from relay.actors.channels.messages import ChannelRoute
from relay.actors.runtime.context import Runtime
from relay.domain.agents import AgentCard
from relay.domain.channels import (
    BindingSpec,
    Channel,
    ChannelBinding,
    ChannelRouteTarget,
    ChannelSummary,
)
from relay.errors import Forbidden
from relay.store import agents as agent_store
from relay.store import channels as channel_store
from relay.store import messages as message_store


async def create_channel(
    rt: Runtime, channel_id: str, description: str | None, actor: str
) -> Channel:
    return await rt.registry.ask(channel.KIND, channel_id, channel.Create(description, actor))


async def get_channel(rt: Runtime, channel_id: str) -> channel.ChannelState:
    return await rt.registry.ask(channel.KIND, channel_id, channel.Get())


async def delete_channel(
    rt: Runtime, channel_id: str, actor: str, removable: frozenset[str] | None = None
) -> Channel:
    """``removable``: the bindings the caller may remove (None: any); a channel holding
    another is refused (Forbidden), judged by the channel's actor."""
    return await rt.registry.ask(channel.KIND, channel_id, channel.Delete(actor, removable))


async def add_binding(
    rt: Runtime, channel_id: str, spec: BindingSpec, actor: str
) -> ChannelBinding:
    return await rt.registry.ask(channel.KIND, channel_id, channel.AddBinding(spec, actor))


async def remove_binding(
    rt: Runtime, channel_id: str, binding_id: str, actor: str
) -> ChannelBinding:
    return await rt.registry.ask(channel.KIND, channel_id, channel.RemoveBinding(binding_id, actor))


async def list_channels(rt: Runtime) -> list[ChannelSummary]:
    return await rt.store.run(channel_store.list_summaries)


async def channels_for(rt: Runtime, agent_id: str) -> list[tuple[ChannelSummary, bool]]:
    """Every channel, and whether ``agent_id`` may post to it (``may_post``'s rule)."""

    async def read() -> tuple[list[ChannelSummary], dict[str, tuple[ChannelBinding, ...]]]:
        return await channel_store.list_summaries(), await channel_store.bindings_by_channel()

    summaries, bindings = await rt.store.run(read)
    card = await rt.store.run(lambda: agent_store.load(agent_id))
    return [
        (summary, rules.may_post(bindings.get(summary.channel.id, ()), card))
        for summary in summaries
    ]


async def inbox_loads(rt: Runtime, agent_ids: Sequence[str]) -> dict[str, int]:
    """Each agent's queued + leased deliveries: exclusive routing picks the least loaded.

    Read from the store, not asked of the inbox actors: ``inbox`` is this aggregate's
    sibling, and every inbox write is committed before its send answers, so the count is
    the one the next send sees (promise 4). Expiries not yet applied count as applied.
    """
    now = rt.clock.now_ms()
    wanted = tuple(agent_ids)
    return await rt.store.run(lambda: message_store.live_counts(wanted, now))


async def channel_route(
    rt: Runtime,
    channel_id: str,
    sender: str | None,
    *,
    commit: bool = False,
    client_message_id: str | None = None,
    check_post: bool = False,
    sender_card: AgentCard | None = None,
) -> ChannelRoute:
    """Route a post from ``sender`` as it would go now.

    Without ``commit`` it changes nothing (the dry run). With it (a send) the channel
    actor picks and records the exclusive choice in one step (``channel.Route``), so two
    racing sends see each other's pick; a send naming ``client_message_id`` records it
    once however many of its repeats race. With ``check_post`` the sender must be allowed
    to post first (``may_post``'s rule) as ``sender_card`` (its stored card, which the
    caller has read; None: not an agent), judged on the same read of the channel.

    Raises:
        NotFound: ``channel not found``.
        Forbidden: ``check_post`` and the sending agent has no outbound binding.
    """
    state = await get_channel(rt, channel_id)
    inbound = [b for b in state.bindings if b.inbound]
    ids = {b.target for b in inbound if b.target_type == "agent"}
    mentions: list[tuple[agent_store.JsonColumn, str]] = [
        ("tags" if b.target_type == "tag" else "meta", b.target)
        for b in inbound
        if b.target_type != "agent"
    ]
    if check_post and not rules.may_post(state.bindings, sender_card):
        raise Forbidden(f"agent {sender} may not post to channel {channel_id}")

    async def read() -> list[AgentCard]:
        # Only the cards the inbound bindings can match, not every agent of the relay: a
        # send's cost must not grow with the agents registered.
        cards = await agent_store.cards_matching(ids, mentions)
        return cards if cards is not None else await agent_store.list_cards()

    cards = await rt.store.run(read)
    matching = tuple(card for card in cards if any(rules.matches(b, card) for b in inbound))
    loads = await inbox_loads(rt, [card.id for card in matching])
    return await rt.registry.ask(
        channel.KIND,
        channel_id,
        channel.Route(sender, matching, loads, commit, client_message_id),
    )


async def channel_targets(
    rt: Runtime, channel_id: str, sender: str | None
) -> list[ChannelRouteTarget]:
    """The targets of ``channel_route``."""
    return (await channel_route(rt, channel_id, sender)).targets


async def record_chosen(rt: Runtime, channel_id: str, agent_id: str | None) -> None:
    """Rotate past ``agent_id`` as if a send had chosen it. A send records its pick with
    ``channel_route(commit=True)``; the dry run never records."""
    if agent_id is not None:
        await rt.registry.ask(channel.KIND, channel_id, channel.RecordChosen(agent_id))


async def may_post(rt: Runtime, channel_id: str, sender: str) -> None:
    """403 ``agent <id> may not post to channel <channelId>`` unless an ``outbound``/``both``
    binding matches the sending agent; a sender that is no agent (root, the relay) may.

    Raises:
        NotFound: ``channel not found``.
        Forbidden: as above.
    """
    state = await get_channel(rt, channel_id)
    card = await rt.store.run(lambda: agent_store.load(sender))
    if not rules.may_post(state.bindings, card):
        raise Forbidden(f"agent {sender} may not post to channel {channel_id}")
