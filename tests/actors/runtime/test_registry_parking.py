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


def stop(registry: ActorRegistry, key: str) -> None:
    ref = registry.ref("rec", key)
    registry.forget("rec", key, ref)
    ref.stop()


def test_a_parked_state_goes_to_the_next_activation_once(registry: ActorRegistry) -> None:
    stop(registry, "k")
    registry.park("rec", "k", {"seq": 3})
    registry.mark_quiet("rec", "k")
    assert registry.is_quiet("rec", "k")
    assert registry.take_parked("rec", "k") is None  # nothing until an activation starts
    registry.ref("rec", "k")
    assert not registry.is_quiet("rec", "k")  # any activation forgets the note
    assert registry.take_parked("rec", "k") == {"seq": 3}
    assert registry.take_parked("rec", "k") is None


def test_nothing_is_left_while_a_newer_activation_runs(registry: ActorRegistry) -> None:
    registry.ref("rec", "k")  # the newer one, registered
    registry.park("rec", "k", {"seq": 1})
    registry.mark_quiet("rec", "k")
    assert not registry.is_quiet("rec", "k")
    stop(registry, "k")
    registry.ref("rec", "k")
    assert registry.take_parked("rec", "k") is None


def test_an_activation_with_nothing_parked_drops_a_stale_hand_off(
    registry: ActorRegistry,
) -> None:
    stop(registry, "k")
    registry.park("rec", "k", {"seq": 1})
    registry.ref("rec", "k")  # handed off, never taken (as if its start had failed)
    stop(registry, "k")
    registry.ref("rec", "k")
    assert registry.take_parked("rec", "k") is None


def test_parked_states_are_bounded(
    registry: ActorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("relay.actors.runtime.registry.PARKED_LIMIT", 2)
    for key in ("a", "b", "c"):
        registry.park("rec", key, key)
    for key in ("a", "b", "c"):
        registry.ref("rec", key)
    assert [registry.take_parked("rec", k) for k in ("a", "b", "c")] == [None, "b", "c"]
