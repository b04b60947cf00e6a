"""``registry.tell``: a message an activation out of the registry refuses (``Departed``)
goes to the current activation instead; refused by every one, or failing, it is logged."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from relay.actors.runtime.bridge import Departed, RelayActor
from relay.actors.runtime.registry import ActorRegistry

WAIT_S = 5


class Leaving(RelayActor):
    """Refuses everything as a departed activation does (out of the registry first) while
    ``departing`` is set; else records what it handles, or raises on ``"boom"``."""

    def __init__(self, registry: ActorRegistry, log: list[tuple[int, Any]], gen: int) -> None:
        super().__init__()
        self.registry, self.log, self.gen = registry, log, gen

    def on_receive(self, message: Any) -> Any:
        if self.gen in Leaving.departing:
            self.registry.forget("lv", "k", self.actor_ref)
            return Departed()
        if message == "boom":
            raise RuntimeError("boom")
        self.log.append((self.gen, message))
        Leaving.handled.set()
        return None

    departing: set[int] = set()
    handled = threading.Event()


@pytest.fixture
def handled() -> Any:
    Leaving.departing = set()
    Leaving.handled = threading.Event()
    return Leaving.handled


@pytest.fixture
def log() -> list[tuple[int, Any]]:
    return []


@pytest.fixture
def registry(log: list[tuple[int, Any]]) -> Any:
    registry = ActorRegistry(ask_timeout=5)
    starts = iter(range(1, 100))
    registry.register_kind("lv", lambda _key: Leaving.start(registry, log, next(starts)))
    yield registry
    registry.stop_all()


def test_a_tell_refused_by_a_departed_activation_reaches_the_next(
    registry: ActorRegistry, log: list[tuple[int, Any]], handled: threading.Event
) -> None:
    Leaving.departing = {1}
    registry.tell("lv", "k", "release")
    assert handled.wait(WAIT_S)
    assert log == [(2, "release")]


class Said(logging.Handler):
    """Sets ``said`` once a record with ``text`` is logged (from whichever thread)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text, self.said = text, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.said.set()


def test_a_tell_refused_by_every_activation_is_dropped(
    registry: ActorRegistry, log: list[tuple[int, Any]], handled: threading.Event
) -> None:
    Leaving.departing = {1, 2, 3}
    dropped = Said("actor_tell_dropped kind=lv key=k")
    logger = logging.getLogger("relay.actors")
    logger.addHandler(dropped)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        registry.tell("lv", "k", "release")
        assert dropped.said.wait(WAIT_S)
    finally:
        logger.removeHandler(dropped)
        logger.setLevel(level)
    registry.tell("lv", "k", "after")  # activation 4
    assert handled.wait(WAIT_S)
    assert log == [(4, "after")]


def test_a_tell_that_fails_is_logged(
    registry: ActorRegistry,
    log: list[tuple[int, Any]],
    handled: threading.Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="relay.actors"):
        registry.tell("lv", "k", "boom")
        registry.tell("lv", "k", "after")  # the same activation lives on, in order
        assert handled.wait(WAIT_S)
    assert log == [(1, "after")]
    assert "actor_tell_failed kind=lv key=k error=RuntimeError('boom')" in caplog.text
