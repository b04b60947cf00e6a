"""The registry's idle sweep: only actors nobody has sent to for the idle period are told."""

from __future__ import annotations

from typing import Any

import pykka
import pytest

from relay.actors.runtime.bridge import RelayActor
from relay.actors.runtime.registry import ActorRegistry, Passivate


class Recorder(RelayActor):
    def __init__(self) -> None:
        super().__init__()
        self.passivations: list[float] = []

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Passivate):
            self.passivations.append(message.idle_seconds)
            return None
        if message == "passivations":
            return list(self.passivations)
        return "pong"


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def registry(clock: FakeMonotonic) -> Any:
    registry = ActorRegistry(ask_timeout=5, monotonic=clock)
    registry.register_kind("rec", lambda _key: Recorder.start())
    yield registry
    registry.stop_all()


def told(ref: pykka.ActorRef[Any]) -> list[float]:
    result: list[float] = ref.ask("passivations", block=True)
    return result


def test_only_actors_unused_for_the_idle_period_are_candidates(
    registry: ActorRegistry, clock: FakeMonotonic
) -> None:
    old = registry.ref("rec", "old")
    clock.now += 50
    fresh = registry.ref("rec", "fresh")
    clock.now += 20  # old: 70 s unused, fresh: 20 s

    assert registry.idle_refs(60) == [old]
    assert registry.passivate_idle(60) == 1

    assert told(old) == [60]
    assert told(fresh) == []


def test_an_idle_actor_used_again_is_no_longer_a_candidate(
    registry: ActorRegistry, clock: FakeMonotonic
) -> None:
    ref = registry.ref("rec", "a")
    clock.now += 120
    registry.tell("rec", "a", "ping")  # a message through the registry counts as use

    assert registry.idle_refs(60) == []
    assert registry.idle_refs(0) == [ref]  # exactly at the threshold counts as idle


def test_a_forgotten_actor_leaves_the_sweep(registry: ActorRegistry, clock: FakeMonotonic) -> None:
    ref = registry.ref("rec", "a")
    registry.forget("rec", "a", ref)
    clock.now += 120

    assert registry.idle_refs(60) == []
    ref.stop()
