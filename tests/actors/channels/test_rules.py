"""Channel routing as pure functions (messaging.md "Channels")."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.channels import rules
from relay.domain.agents import AgentCard, Presence
from relay.domain.channels import (
    BindingMode,
    BindingSpec,
    ChannelBinding,
    Direction,
    TargetType,
)
from relay.errors import Conflict

_made = 0


def card(
    agent_id: str,
    status: Presence = "online",
    *,
    tags: tuple[str, ...] = (),
    label: str | None = None,
    capabilities: Any = None,
) -> AgentCard:
    meta: dict[str, Any] = {}
    if label is not None:
        meta["label"] = label
    if capabilities is not None:
        meta["capabilities"] = capabilities
    return AgentCard(
        id=agent_id,
        name=agent_id,
        kind="claude",
        status=status,
        ready=True,
        tags=tags,
        orchestrator_id=None,
        provider_capabilities=None,
        meta=meta,
        registered_at=0,
        last_seen_at=0,
    )


def bind(
    mode: BindingMode,
    target_type: TargetType,
    target: str,
    direction: Direction = "both",
    *,
    binding_id: str | None = None,
) -> ChannelBinding:
    global _made
    _made += 1
    return ChannelBinding(
        id=binding_id or f"bnd_{_made:032x}",
        channel_id="ops",
        mode=mode,
        target_type=target_type,
        target=target,
        direction=direction,
        created_at=_made,
    )


def ids(targets: list[Any]) -> list[str]:
    return [target.agent_id for target in targets]


# -- matching ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("binding", "agent", "expected"),
    [
        (bind("broadcast", "agent", "a1"), card("a1"), True),
        (bind("broadcast", "agent", "a1"), card("a2"), False),
        (bind("broadcast", "label", "db"), card("a1", label="db"), True),
        (bind("broadcast", "label", "db"), card("a1", label="web"), False),
        (bind("broadcast", "label", "db"), card("a1"), False),
        (bind("broadcast", "tag", "x"), card("a1", tags=("y", "x")), True),
        (bind("broadcast", "tag", "x"), card("a1", tags=("xx",)), False),
        (bind("broadcast", "capability", "go"), card("a1", capabilities=["py", "go"]), True),
        (bind("broadcast", "capability", "go"), card("a1", capabilities=["py"]), False),
        (bind("broadcast", "capability", "go"), card("a1", capabilities="go"), False),
        (bind("broadcast", "capability", "go"), card("a1"), False),
    ],
)
def test_matches(binding: ChannelBinding, agent: AgentCard, expected: bool) -> None:
    assert rules.matches(binding, agent) is expected


# -- who may post ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "allowed"), [("outbound", True), ("both", True), ("inbound", False)]
)
def test_an_agent_may_post_only_through_an_outbound_binding(
    direction: Direction, allowed: bool
) -> None:
    bindings = [bind("broadcast", "tag", "ops", direction)]
    assert rules.may_post(bindings, card("a1", tags=("ops",))) is allowed


def test_an_outbound_binding_for_someone_else_does_not_let_an_agent_post() -> None:
    bindings = [bind("broadcast", "agent", "a2", "outbound")]
    assert rules.may_post(bindings, card("a1")) is False
    assert rules.may_post([], card("a1")) is False


def test_a_sender_that_is_not_an_agent_may_always_post() -> None:
    assert rules.may_post([], None) is True


# -- bindings ----------------------------------------------------------------------------------


def test_a_binding_is_unique_per_mode_type_and_target() -> None:
    existing = [bind("exclusive", "tag", "x", "inbound")]
    with pytest.raises(Conflict, match="binding already exists"):
        rules.check_new_binding(existing, BindingSpec("exclusive", "tag", "x", "outbound"))
    rules.check_new_binding(existing, BindingSpec("broadcast", "tag", "x"))
    rules.check_new_binding(existing, BindingSpec("exclusive", "label", "x"))
    rules.check_new_binding(existing, BindingSpec("exclusive", "tag", "y"))


# -- exclusive ---------------------------------------------------------------------------------


def test_exclusive_picks_one_online_agent() -> None:
    bindings = [bind("exclusive", "tag", "w")]
    agents = [card("a1", "offline", tags=("w",)), card("a2", tags=("w",)), card("a3", tags=("w",))]
    targets = rules.route(bindings, agents, {}, {}, None)
    assert ids(targets) == ["a2"]  # equal loads, never chosen: the smallest id
    assert targets[0].mode == "exclusive"
    assert targets[0].binding == bindings[0]


@pytest.mark.parametrize("status", ["stale", "offline"])
def test_exclusive_never_picks_an_agent_that_is_not_online(status: Presence) -> None:
    bindings = [bind("exclusive", "agent", "a1")]
    assert rules.route(bindings, [card("a1", status)], {}, {}, None) == []


def test_exclusive_uses_the_most_specific_type_with_an_online_match() -> None:
    bindings = [
        bind("exclusive", "capability", "go"),
        bind("exclusive", "tag", "w"),
        bind("exclusive", "label", "db"),
        bind("exclusive", "agent", "a9"),
    ]
    agents = [
        card("a1", capabilities=["go"]),
        card("a2", tags=("w",)),
        card("a3", label="db"),
        card("a9", "offline"),  # the most specific binding matches nobody online
    ]
    [target] = rules.route(bindings, agents, {}, {}, None)
    assert (target.agent_id, target.binding.target_type) == ("a3", "label")
    # Without the label match, the tag wins over the capability, even if more loaded.
    [target] = rules.route(bindings, agents[:2], {"a2": 9}, {}, None)
    assert (target.agent_id, target.binding.target_type) == ("a2", "tag")
    [target] = rules.route(bindings, agents[:1], {}, {}, None)
    assert (target.agent_id, target.binding.target_type) == ("a1", "capability")


def test_exclusive_prefers_the_fewest_queued_and_leased_deliveries() -> None:
    bindings = [bind("exclusive", "tag", "w")]
    agents = [card("a1", tags=("w",)), card("a2", tags=("w",)), card("a3", tags=("w",))]
    assert ids(rules.route(bindings, agents, {"a1": 2, "a2": 1, "a3": 3}, {}, None)) == ["a2"]
    # Load wins over the rotation.
    assert ids(rules.route(bindings, agents, {"a1": 1, "a2": 1, "a3": 0}, {"a3": 99}, None)) == [
        "a3"
    ]


def test_exclusive_then_prefers_the_least_recently_chosen_then_the_id() -> None:
    bindings = [bind("exclusive", "tag", "w")]
    agents = [card("a1", tags=("w",)), card("a2", tags=("w",)), card("a3", tags=("w",))]
    assert ids(rules.route(bindings, agents, {}, {"a1": 2, "a2": 1}, None)) == ["a3"]
    assert ids(rules.route(bindings, agents, {}, {"a1": 2, "a2": 1, "a3": 3}, None)) == ["a2"]
    assert ids(rules.route(bindings, agents, {}, {"a2": 1, "a3": 1}, None)) == ["a1"]


def test_rotation_over_several_sends_with_after_choosing() -> None:
    bindings = [bind("exclusive", "tag", "w")]
    agents = [card(f"a{n}", tags=("w",)) for n in (3, 1, 2)]
    memory: dict[str, int] = {}
    picked = []
    for _ in range(6):
        pick = rules.exclusive_pick(bindings, agents, {}, memory, None)
        assert pick is not None
        picked.append(pick[0])
        memory = rules.after_choosing(memory, pick[0])
    assert picked == ["a1", "a2", "a3", "a1", "a2", "a3"]


def test_after_choosing_makes_the_agent_the_most_recent_without_touching_the_input() -> None:
    memory = {"a1": 4, "a2": 7}
    assert rules.after_choosing(memory, "a1") == {"a1": 8, "a2": 7}
    assert rules.after_choosing({}, "a1") == {"a1": 1}
    assert memory == {"a1": 4, "a2": 7}


def test_exclusive_pick_names_the_binding_and_is_none_without_a_match() -> None:
    tag = bind("exclusive", "tag", "w")
    assert rules.exclusive_pick([tag], [card("a1", tags=("w",))], {}, {}, None) == ("a1", tag)
    assert rules.exclusive_pick([tag], [card("a1")], {}, {}, None) is None
    broadcast = bind("broadcast", "tag", "w")
    assert rules.exclusive_pick([broadcast], [card("a1", tags=("w",))], {}, {}, None) is None


def test_among_bindings_of_one_type_the_oldest_matching_one_is_named() -> None:
    older = bind("exclusive", "tag", "w")
    newer = bind("exclusive", "tag", "v")
    [target] = rules.route([newer, older], [card("a1", tags=("v", "w"))], {}, {}, None)
    assert target.binding == older


# -- broadcast ---------------------------------------------------------------------------------


def test_broadcast_reaches_every_match_whatever_its_status() -> None:
    bindings = [bind("broadcast", "tag", "w")]
    agents = [
        card("a3", "offline", tags=("w",)),
        card("a1", tags=("w",)),
        card("a2", "stale", tags=("w",)),
        card("a4"),
    ]
    targets = rules.route(bindings, agents, {"a1": 50}, {}, None)
    assert ids(targets) == ["a1", "a2", "a3"]
    assert {target.mode for target in targets} == {"broadcast"}


def test_exclusive_vs_broadcast_with_two_matching_agents() -> None:
    agents = [card("a1", tags=("w",)), card("a2", tags=("w",))]
    assert ids(rules.route([bind("exclusive", "tag", "w")], agents, {}, {}, None)) == ["a1"]
    assert ids(rules.route([bind("broadcast", "tag", "w")], agents, {}, {}, None)) == [
        "a1",
        "a2",
    ]


# -- union, direction, sender ------------------------------------------------------------------


def test_the_union_has_one_target_per_agent_named_by_its_most_specific_match() -> None:
    by_tag = bind("broadcast", "tag", "w")
    by_agent = bind("broadcast", "agent", "a1")
    exclusive = bind("exclusive", "capability", "go")
    agents = [card("a1", tags=("w",), capabilities=["go"]), card("a2", tags=("w",))]
    targets = rules.route([by_tag, exclusive, by_agent], agents, {}, {}, None)
    assert [(t.agent_id, t.mode, t.binding) for t in targets] == [
        ("a1", "broadcast", by_agent),
        ("a2", "broadcast", by_tag),
    ]


def test_an_exclusive_match_more_specific_than_a_broadcast_one_names_the_target() -> None:
    by_tag = bind("broadcast", "tag", "w")
    by_agent = bind("exclusive", "agent", "a2")
    agents = [card("a1", tags=("w",)), card("a2", tags=("w",))]
    targets = rules.route([by_tag, by_agent], agents, {}, {}, None)
    assert [(t.agent_id, t.mode, t.binding) for t in targets] == [
        ("a1", "broadcast", by_tag),
        ("a2", "exclusive", by_agent),
    ]


def test_exclusive_adds_one_agent_besides_the_broadcast_ones() -> None:
    bindings = [bind("broadcast", "tag", "all"), bind("exclusive", "tag", "worker")]
    agents = [card("a1", tags=("all",)), card("w1", tags=("worker",)), card("w2", tags=("worker",))]
    assert ids(rules.route(bindings, agents, {"w1": 1}, {}, None)) == ["a1", "w2"]


@pytest.mark.parametrize("mode", ["exclusive", "broadcast"])
def test_outbound_bindings_do_not_route(mode: BindingMode) -> None:
    bindings = [bind(mode, "tag", "w", "outbound")]
    assert rules.route(bindings, [card("a1", tags=("w",))], {}, {}, None) == []
    inbound = [bind(mode, "tag", "w", "inbound")]
    assert ids(rules.route(inbound, [card("a1", tags=("w",))], {}, {}, None)) == ["a1"]


def test_the_sender_is_never_a_target() -> None:
    agents = [card("a1", tags=("w",)), card("a2", tags=("w",))]
    exclusive = [bind("exclusive", "tag", "w")]
    assert ids(rules.route(exclusive, agents, {"a2": 5}, {}, "a1")) == ["a2"]
    assert ids(rules.route(exclusive, agents[:1], {}, {}, "a1")) == []
    broadcast = [bind("broadcast", "tag", "w")]
    assert ids(rules.route(broadcast, agents, {}, {}, "a2")) == ["a1"]
    assert rules.exclusive_pick(exclusive, agents[:1], {}, {}, "a1") is None


def test_no_bindings_route_nowhere() -> None:
    assert rules.route([], [card("a1")], {}, {}, None) == []
