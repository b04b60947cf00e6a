"""The channel's memory of its own recent picks (``rules.Floor``): how racing sends that
read the same stale loads still spread out, and when that memory stops counting."""

from __future__ import annotations

from collections import Counter

from relay.actors.channels import rules
from tests.actors.channels.test_rules import bind, card

WINDOW = rules.FLOOR_WINDOW_MS


def test_a_floor_raises_a_stale_load_and_never_adds_to_a_fresh_one() -> None:
    floors = {"a": rules.Floor(load=2, until=WINDOW)}
    assert rules.effective_loads({"a": 1, "b": 0}, floors) == {"a": 2, "b": 0}
    # The store shows the pick already (2), or more came since (3): no double count.
    assert rules.effective_loads({"a": 2}, floors) == {"a": 2}
    assert rules.effective_loads({"a": 3}, floors) == {"a": 3}
    # An agent the store read left out counts from 0.
    assert rules.effective_loads({}, floors) == {"a": 2}


def test_floors_are_forgotten_when_their_window_ends() -> None:
    floors = {"a": rules.Floor(1, until=1_000), "b": rules.Floor(1, until=2_000)}
    assert rules.live_floors(floors, 999) == floors
    assert rules.live_floors(floors, 1_000) == {"b": floors["b"]}
    assert rules.live_floors(floors, 2_000) == {}


def test_after_pick_sets_the_picked_agents_floor_one_above_its_effective_load() -> None:
    before = {"b": rules.Floor(4, until=50)}
    after = rules.after_pick(before, {"a": 3, "b": 4}, "a", now=10)
    assert after == {"a": rules.Floor(4, until=10 + WINDOW), "b": before["b"]}
    assert before == {"b": rules.Floor(4, until=50)}  # pure: the input is left alone
    assert rules.after_pick({}, {}, "c", now=0) == {"c": rules.Floor(1, until=WINDOW)}


def test_picks_on_one_stale_read_spread_as_if_made_one_after_another() -> None:
    """Every racing send read the loads before any of their deliveries was committed."""
    bindings = [bind("exclusive", "tag", "w")]
    agents = [card(agent_id, tags=("w",)) for agent_id in ("a", "b", "c")]
    stale = {"a": 2, "b": 0, "c": 0}
    floors: dict[str, rules.Floor] = {}
    last_chosen: dict[str, int] = {}
    picked: Counter[str] = Counter()
    for _ in range(7):
        loads = rules.effective_loads(stale, rules.live_floors(floors, 0))
        pick = rules.exclusive_pick(bindings, agents, loads, last_chosen, None)
        assert pick is not None
        floors = rules.after_pick(floors, loads, pick[0], 0)
        last_chosen = rules.after_choosing(last_chosen, pick[0])
        picked[pick[0]] += 1
    final = {agent_id: stale[agent_id] + picked[agent_id] for agent_id in stale}
    assert final == {"a": 3, "b": 3, "c": 3}
