"""``dispatchmethod`` dispatches like ``singledispatchmethod`` and keeps no instance alive."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from relay.actors.runtime.dispatch import dispatchmethod


class Ping:
    pass


class LoudPing(Ping):
    pass


class Handler:
    def __init__(self, name: str) -> None:
        self.name = name

    @dispatchmethod
    def handle(self, message: Any) -> str:
        raise TypeError(f"cannot handle {message!r}")

    @handle.register
    def _ping(self, message: Ping, suffix: str = "") -> str:
        return f"{self.name} ping{suffix}"

    @handle.register
    def _number(self, message: int) -> str:
        return f"{self.name} {message + 1}"


def test_dispatches_on_the_message_class_and_its_bases() -> None:
    handler = Handler("h")
    assert handler.handle(Ping()) == "h ping"
    assert handler.handle(LoudPing(), "!") == "h ping!"
    assert handler.handle(41) == "h 42"


def test_an_unregistered_message_reaches_the_fallback() -> None:
    with pytest.raises(TypeError, match="cannot handle"):
        Handler("h").handle("text")


def test_an_instance_that_dispatched_is_freed_without_a_gc_pass() -> None:
    # functools.singledispatchmethod on CPython 3.13.0 keeps every such instance for ever.
    handler = Handler("h")
    handler.handle(Ping())
    gone = weakref.ref(handler)
    gc.disable()
    try:
        del handler
        assert gone() is None
    finally:
        gc.enable()
