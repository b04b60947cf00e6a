"""ActorThreads: a stopped actor's thread runs the next actor's loop; unused, it exits."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from relay.actors.runtime import threads
from relay.actors.runtime.threads import IDLE_NAME, ActorThreads

BOUND_S = 10.0


def _loop(ran: list[tuple[str, int]], done: threading.Event) -> Callable[[], None]:
    def loop() -> None:
        ran.append((threading.current_thread().name, threading.get_ident()))
        done.set()

    return loop


def _idle(pool: ActorThreads) -> bool:
    with pool._lock:
        return bool(pool._idle)


def _wait(condition: object) -> None:
    stop = threading.Event()
    for _ in range(int(BOUND_S / 0.01)):
        if condition():  # type: ignore[operator]
            return
        stop.wait(0.01)
    pytest.fail("condition not reached")


def test_a_second_loop_runs_on_the_first_loops_thread() -> None:
    pool = ActorThreads()
    ran: list[tuple[str, int]] = []
    first, second = threading.Event(), threading.Event()
    pool.run(_loop(ran, first), "A-1")
    assert first.wait(BOUND_S)
    _wait(lambda: _idle(pool))
    idle = [t for t in threading.enumerate() if t.name == IDLE_NAME]
    worker = pool.take()
    assert worker is not None
    pool.run(_loop(ran, second), "B-2", worker=worker)
    assert second.wait(BOUND_S)
    [(first_name, first_thread), (second_name, second_thread)] = ran
    assert (first_name, second_name) == ("A-1", "B-2")  # named after the actor it runs
    assert first_thread == second_thread  # one thread for both
    pool.close()
    for thread in idle:
        thread.join(BOUND_S)
        assert not thread.is_alive()


def test_an_unused_thread_exits_after_its_keep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "KEEP_SECONDS", 0.05)
    pool = ActorThreads()
    done = threading.Event()
    before = set(threading.enumerate())
    pool.run(_loop([], done), "A-1")
    assert done.wait(BOUND_S)
    [thread] = set(threading.enumerate()) - before
    thread.join(BOUND_S)
    assert not thread.is_alive()
    assert pool.take() is None


def test_a_released_reservation_and_a_closed_pool_keep_no_thread() -> None:
    pool = ActorThreads()
    done = threading.Event()
    before = set(threading.enumerate())
    pool.run(_loop([], done), "A-1")
    assert done.wait(BOUND_S)
    _wait(lambda: _idle(pool))
    [thread] = set(threading.enumerate()) - before
    worker = pool.take()
    assert worker is not None
    pool.release(worker)
    thread.join(BOUND_S)
    assert not thread.is_alive()
    # Closed (the relay stops): a loop that ends then does not keep its thread.
    pool.close()
    again = threading.Event()
    pool.run(_loop([], again), "B-2")
    assert again.wait(BOUND_S)
    _wait(lambda: not [t for t in threading.enumerate() if t.name in ("B-2", IDLE_NAME)])
    assert pool.take() is None
