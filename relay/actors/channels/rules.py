"""Channel rules as pure functions: which agents a binding matches, who may post, and
whom a post reaches (messaging.md "Channels")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from relay.domain.agents import AgentCard
from relay.domain.channels import (
    TARGET_TYPES,
    BindingSpec,
    ChannelBinding,
    ChannelRouteTarget,
)
from relay.errors import Conflict

_SPECIFICITY = {target_type: rank for rank, target_type in enumerate(TARGET_TYPES)}


def matches(binding: ChannelBinding, card: AgentCard) -> bool:
    """``agent`` = card id, ``label`` = ``meta.label``, ``tag`` ∈ tags, ``capability`` ∈
    ``meta.capabilities`` (a list; anything else matches nothing)."""
    if binding.target_type == "agent":
        return card.id == binding.target
    if binding.target_type == "label":
        return card.meta.get("label") == binding.target
    if binding.target_type == "tag":
        return binding.target in card.tags
    capabilities = card.meta.get("capabilities")
    return isinstance(capabilities, list) and binding.target in capabilities


def _rank(binding: ChannelBinding) -> tuple[int, int, str]:
    # Most specific type first; among equals, the oldest binding.
    return _SPECIFICITY[binding.target_type], binding.created_at, binding.id


def may_post(bindings: Iterable[ChannelBinding], sender: AgentCard | None) -> bool:
    """An agent may post when an ``outbound``/``both`` binding matches it; a sender that is
    not an agent (root, the relay, an automation) always may."""
    if sender is None:
        return True
    return any(binding.outbound and matches(binding, sender) for binding in bindings)


def check_new_binding(bindings: Iterable[ChannelBinding], spec: BindingSpec) -> None:
    """409 when the channel already has a binding of this mode, type and target."""
    if any(binding.same_as(spec) for binding in bindings):
        raise Conflict("binding already exists")


def exclusive_pick(
    bindings: Sequence[ChannelBinding],
    agents: Iterable[AgentCard],
    loads: Mapping[str, int],
    last_chosen: Mapping[str, int],
    sender: str | None,
) -> tuple[str, ChannelBinding] | None:
    """The one agent the exclusive bindings choose, and the binding it matched.

    An ``online`` agent other than the sender, from the most specific binding type that
    has an online match (agent > label > tag > capability); among those the fewest
    queued and leased deliveries (``loads``, 0 when absent), then the least recently
    chosen by this channel (never chosen first), then the smallest id.
    """
    exclusive = sorted((b for b in bindings if b.inbound and b.mode == "exclusive"), key=_rank)
    online = [card for card in agents if card.status == "online" and card.id != sender]
    for target_type in TARGET_TYPES:
        of_type = [b for b in exclusive if b.target_type == target_type]
        pool: dict[str, ChannelBinding] = {}
        for card in online:
            matched = next((b for b in of_type if matches(b, card)), None)
            if matched is not None:
                pool[card.id] = matched
        if pool:
            chosen = min(
                pool,
                key=lambda agent_id: (
                    loads.get(agent_id, 0),
                    last_chosen.get(agent_id, -1),
                    agent_id,
                ),
            )
            return chosen, pool[chosen]
    return None


def route(
    bindings: Sequence[ChannelBinding],
    agents: Iterable[AgentCard],
    loads: Mapping[str, int],
    last_chosen: Mapping[str, int],
    sender: str | None,
) -> list[ChannelRouteTarget]:
    """Whom a post from ``sender`` reaches, ordered by agent id.

    Only ``inbound``/``both`` bindings route, and the sender is never a target: the
    exclusive bindings' one pick (``exclusive_pick``), and every agent a broadcast binding
    matches, whatever its status; one target per agent, ``matchedBy`` the most specific
    binding that put it there (the oldest among equals), ``mode`` that binding's.
    """
    cards = [card for card in agents if card.id != sender]
    reached: dict[str, list[ChannelBinding]] = {}
    for binding in bindings:
        if binding.inbound and binding.mode == "broadcast":
            for card in cards:
                if matches(binding, card):
                    reached.setdefault(card.id, []).append(binding)
    pick = exclusive_pick(bindings, cards, loads, last_chosen, sender)
    if pick is not None:
        reached.setdefault(pick[0], []).append(pick[1])
    targets = []
    for agent_id in sorted(reached):
        best = min(reached[agent_id], key=_rank)
        targets.append(ChannelRouteTarget(agent_id=agent_id, mode=best.mode, binding=best))
    return targets


def after_choosing(last_chosen: Mapping[str, int], agent_id: str) -> dict[str, int]:
    """The channel's memory once it chose ``agent_id``: the next counter, so it is now the
    most recently chosen. A counter, not a time: two sends in one millisecond still rotate."""
    memory = dict(last_chosen)
    memory[agent_id] = max(memory.values(), default=0) + 1
    return memory


# How long the channel remembers the loads its own picks imply. A pick's delivery is
# committed within its send (milliseconds); the window only has to outlast the sends that
# read the loads before that commit. A floor can overstate a load only while acks lower
# the real one inside the window.
FLOOR_WINDOW_MS = 5_000


@dataclass(frozen=True, slots=True)
class Floor:
    """The load an agent has at least once the channel's picks of it have landed."""

    load: int
    until: int  # ms; forgotten from then on


def live_floors(floors: Mapping[str, Floor], now: int) -> dict[str, Floor]:
    """The floors still within their window at ``now``."""
    return {agent_id: floor for agent_id, floor in floors.items() if floor.until > now}


def effective_loads(loads: Mapping[str, int], floors: Mapping[str, Floor]) -> dict[str, int]:
    """Each agent's load as the channel's exclusive pick counts it: the store's (``loads``),
    raised to the floor of the picks the store may not show yet.

    A store read that already holds a pick's delivery is at or above its floor, so no pick
    is counted twice; one read before that delivery was committed is raised to the floor,
    so racing sends see each other's picks as if they had run one after another.
    """
    merged = dict(loads)
    for agent_id, floor in floors.items():
        merged[agent_id] = max(merged.get(agent_id, 0), floor.load)
    return merged


def after_pick(
    floors: Mapping[str, Floor], loads: Mapping[str, int], agent_id: str, now: int
) -> dict[str, Floor]:
    """The floors once ``agent_id`` was picked at its effective load ``loads[agent_id]``."""
    after = dict(floors)
    after[agent_id] = Floor(loads.get(agent_id, 0) + 1, now + FLOOR_WINDOW_MS)
    return after


# How long a send's route is replayed to repeats of its (sender, clientMessageId): only
# for repeats racing the original before it is stored (a repeat after that finds it in the
# store), so the floors' window. A retry after a failed send (a 503, seconds later) must
# route afresh, on the bindings and cards of then.
RECENT_ROUTE_MS = FLOOR_WINDOW_MS


def worth_remembering(target_count: int, max_recipients: int) -> bool:
    """Whether a send's route may be replayed to its repeats: only one the send accepts,
    with targets and within the recipient limit. A refused route (no agent matches, too
    many) is routed afresh by the repeat, which may find a binding added since."""
    return 0 < target_count <= max_recipients


def recent_is_live(until: int, now: int) -> bool:
    """A remembered route still replays at ``now``, its window ending at ``until``."""
    return until > now
