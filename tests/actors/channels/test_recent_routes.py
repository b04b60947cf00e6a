"""The channel's remembered routes (``recent``): a repeat of a send's (sender,
clientMessageId) racing its original gets the original's route; nothing else does.

Only a route the send accepts is remembered (with targets, within the recipient limit),
only for ``rules.RECENT_ROUTE_MS`` on the actor's clock, and never across a binding change:
a retry after a failed send routes on the bindings and cards of its own time.
"""

from __future__ import annotations

from relay.actors import Runtime
from relay.actors.channels import messages as ch
from relay.actors.channels import rules
from relay.clock import ManualClock
from relay.domain.channels import BindingSpec
from tests.actors.channels.test_rules import card

ROOT = "root"


async def new_channel(rt: Runtime, *specs: BindingSpec) -> tuple[str, list[str]]:
    """A channel with ``specs`` bound; returns its id and the bindings' ids."""
    created = await rt.registry.ask(ch.KIND, "chan_x", ch.Create(None, ROOT))
    ids = []
    for spec in specs:
        binding = await rt.registry.ask(ch.KIND, created.id, ch.AddBinding(spec, ROOT))
        ids.append(binding.id)
    return created.id, ids


async def send_route(rt: Runtime, channel_id: str, *agent_ids: str) -> list[str]:
    """The targets of a send's Route by ``s`` with clientMessageId ``X`` among the agents
    (each tagged ``w``), as ``messaging`` asks it."""
    agents = tuple(card(agent_id, tags=("w",)) for agent_id in agent_ids)
    route = await rt.registry.ask(ch.KIND, channel_id, ch.Route("s", agents, {}, True, "X"))
    return [t.agent_id for t in route.targets]


BROADCAST_W = BindingSpec("broadcast", "tag", "w")


async def test_a_racing_repeat_gets_the_original_route(runtime: Runtime) -> None:
    cid, _ = await new_channel(runtime, BindingSpec("exclusive", "tag", "w"))
    assert await send_route(runtime, cid, "a1", "a2") == ["a1"]
    # The repeat read other cards (a1 gone): within the window it routes as the original.
    assert await send_route(runtime, cid, "a2") == ["a1"]


async def test_a_route_is_forgotten_when_its_window_ends(
    runtime: Runtime, clock: ManualClock
) -> None:
    cid, _ = await new_channel(runtime, BROADCAST_W)
    assert await send_route(runtime, cid, "a1") == ["a1"]
    clock.advance(rules.RECENT_ROUTE_MS / 1000 - 0.001)
    assert await send_route(runtime, cid, "a2") == ["a1"]
    clock.advance(0.001)  # a retry after a 503, say: the cards of now
    assert await send_route(runtime, cid, "a2") == ["a2"]


async def test_removing_a_binding_forgets_the_routes(runtime: Runtime) -> None:
    cid, (binding_id,) = await new_channel(runtime, BROADCAST_W)
    assert await send_route(runtime, cid, "a1") == ["a1"]
    await runtime.registry.ask(ch.KIND, cid, ch.RemoveBinding(binding_id, ROOT))
    assert await send_route(runtime, cid, "a1") == []


async def test_adding_a_binding_forgets_the_routes(runtime: Runtime) -> None:
    cid, _ = await new_channel(runtime, BindingSpec("broadcast", "agent", "a1"))
    assert await send_route(runtime, cid, "a1", "a2") == ["a1"]
    await runtime.registry.ask(ch.KIND, cid, ch.AddBinding(BROADCAST_W, ROOT))
    assert await send_route(runtime, cid, "a1", "a2") == ["a1", "a2"]


async def test_a_route_to_nobody_is_not_remembered(runtime: Runtime) -> None:
    # "no agent matches": the retry may find an agent that matches since.
    cid, _ = await new_channel(runtime, BROADCAST_W)
    assert await send_route(runtime, cid) == []
    assert await send_route(runtime, cid, "a1") == ["a1"]


async def test_a_route_over_the_recipient_limit_is_not_remembered(runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(update={"channel_max_recipients": 2})
    cid, _ = await new_channel(runtime, BROADCAST_W)
    assert await send_route(runtime, cid, "a1", "a2", "a3") == ["a1", "a2", "a3"]  # refused
    assert await send_route(runtime, cid, "a1", "a2") == ["a1", "a2"]
    # At the limit it is accepted, so remembered.
    assert await send_route(runtime, cid, "a1") == ["a1", "a2"]


def test_worth_remembering_only_a_route_the_send_accepts() -> None:
    assert not rules.worth_remembering(0, 5)
    assert rules.worth_remembering(1, 5)
    assert rules.worth_remembering(5, 5)
    assert not rules.worth_remembering(6, 5)


def test_a_recent_route_is_live_until_its_window_ends() -> None:
    assert rules.recent_is_live(1_000, 999)
    assert not rules.recent_is_live(1_000, 1_000)
