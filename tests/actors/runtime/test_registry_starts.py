"""Starting an actor's thread happens outside the registry's lock: a slow thread start (a
loaded host) does not hold up every other look-up, the trio thread's included."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from relay.actors.runtime.bridge import RelayActor
from relay.actors.runtime.registry import ActorRegistry
from relay.actors.runtime.threads import ActorThreads

BOUND_S = 10.0


class Echo(RelayActor):
    def on_receive(self, message: Any) -> Any:
        return message


def test_a_slow_thread_start_does_not_hold_the_registry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry = ActorRegistry(ask_timeout=5)
    registry.register_kind("echo", lambda _key: Echo.start())
    try:
        warm = registry.ref("echo", "warm")
        starting = threading.Event()
        release = threading.Event()
        real_run = ActorThreads.run

        def slow_start(threads: ActorThreads, *args: Any, **kwargs: Any) -> None:
            starting.set()
            release.wait(BOUND_S)
            real_run(threads, *args, **kwargs)

        # Where every actor's loop is given its thread, whoever starts it.
        monkeypatch.setattr(ActorThreads, "run", slow_start)
        refs: list[Any] = []
        starter = threading.Thread(target=lambda: refs.append(registry.ref("echo", "slow")))
        starter.start()
        assert starting.wait(BOUND_S)
        try:
            # While the slow actor's thread is being started, the registry answers at once.
            looked_up: list[Any] = []
            lookup = threading.Thread(
                target=lambda: looked_up.append(registry.live_ref("echo", "warm"))
            )
            lookup.start()
            lookup.join(BOUND_S / 2)
            assert looked_up == [warm]
        finally:
            release.set()
            starter.join(BOUND_S)
        [slow] = refs
        assert slow.ask("hello", timeout=BOUND_S) == "hello"
    finally:
        registry.stop_all()
