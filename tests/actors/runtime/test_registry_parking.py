"""What a stopping actor leaves its next activation: a quiet note and a parked state,
each trusted only while no newer activation runs, and taken (or dropped) by the next."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.runtime.registry import ActorRegistry
from tests.actors.runtime.test_registry import Recorder


@pytest.fixture
def registry() -> Any:
    registry = ActorRegistry(ask_timeout=5)
    registry.register_kind("rec", lambda _key: Recorder.start())
    yield registry
    registry.stop_all()


def stop(registry: ActorRegistry, key: str) -> int:
    """Start an activation of ``key`` and stop it; returns its generation."""
    ref = registry.ref("rec", key)
    generation = registry.generation("rec", key)
    registry.forget("rec", key, ref)
    ref.stop()
    return generation


def test_a_parked_state_goes_to_the_next_activation_once(registry: ActorRegistry) -> None:
    generation = stop(registry, "k")
    registry.park("rec", "k", {"seq": 3}, generation)
    registry.mark_quiet("rec", "k", generation)
    assert registry.is_quiet("rec", "k")
    assert registry.take_parked("rec", "k") is None  # nothing until an activation starts
    registry.ref("rec", "k")
    assert not registry.is_quiet("rec", "k")  # any activation forgets the note
    assert registry.take_parked("rec", "k") == {"seq": 3}
    assert registry.take_parked("rec", "k") is None


def test_nothing_is_left_while_a_newer_activation_runs(registry: ActorRegistry) -> None:
    registry.ref("rec", "k")  # the newer one, registered
    generation = registry.generation("rec", "k")
    registry.park("rec", "k", {"seq": 1}, generation)
    registry.mark_quiet("rec", "k", generation)
    assert not registry.is_quiet("rec", "k")
    stop(registry, "k")
    registry.ref("rec", "k")
    assert registry.take_parked("rec", "k") is None


def test_an_activation_outlived_by_a_newer_one_leaves_nothing(
    registry: ActorRegistry,
) -> None:
    # B leaves the registry but is still stopping; C starts, loads, and stops too. B's
    # state is older than C's: B must not park it nor note quiet for the next one.
    b = registry.ref("rec", "k")
    stale = registry.generation("rec", "k")
    registry.forget("rec", "k", b)
    latest = stop(registry, "k")
    assert latest == stale + 1
    registry.park("rec", "k", {"seq": 1}, stale)
    registry.mark_quiet("rec", "k", stale)
    assert not registry.is_parked("rec", "k")
    assert not registry.is_quiet("rec", "k")
    registry.park("rec", "k", {"seq": 2}, latest)
    registry.mark_quiet("rec", "k", latest)
    assert registry.is_parked("rec", "k")
    assert registry.is_quiet("rec", "k")
    b.stop()


def test_an_activation_with_nothing_parked_drops_a_stale_hand_off(
    registry: ActorRegistry,
) -> None:
    generation = stop(registry, "k")
    registry.park("rec", "k", {"seq": 1}, generation)
    registry.ref("rec", "k")  # handed off, never taken (as if its start had failed)
    stop(registry, "k")
    registry.ref("rec", "k")
    assert registry.take_parked("rec", "k") is None


def test_parked_states_are_bounded(
    registry: ActorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("relay.actors.runtime.registry.PARKED_LIMIT", 2)
    for key in ("a", "b", "c"):
        registry.park("rec", key, key, 0)  # never activated: generation 0
    for key in ("a", "b", "c"):
        registry.ref("rec", key)
    assert [registry.take_parked("rec", k) for k in ("a", "b", "c")] == [None, "b", "c"]
