"""ActorThreads: a stopped actor's thread runs the next actor's loop; unused, it exits."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from relay.actors.runtime import threads
from relay.actors.runtime.threads import ActorThreads

BOUND_S = 10.0


class Loops:
    """Loops that note which thread ran them, under which name."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, threading.Thread]] = []
        self._ran = threading.Condition()

    def loop(self) -> Callable[[], None]:
        def run() -> None:
            with self._ran:
                thread = threading.current_thread()
                self.ran.append((thread.name, thread))
                self._ran.notify_all()

        return run

    def wait_for(self, count: int) -> None:
        with self._ran:
            assert self._ran.wait_for(lambda: len(self.ran) >= count, BOUND_S)


def _kept(pool: ActorThreads) -> threads.Worker:
    """The idle thread ``pool`` keeps once its loop has ended (bounded wait)."""
    stop = threading.Event()
    for _ in range(int(BOUND_S / 0.01)):
        worker = pool.take()
        if worker is not None:
            return worker
        stop.wait(0.01)
    pytest.fail("no thread was kept")


def _exits(thread: threading.Thread) -> None:
    thread.join(BOUND_S)
    assert not thread.is_alive()


def test_a_second_loop_runs_on_the_first_loops_thread() -> None:
    pool, loops = ActorThreads(), Loops()
    pool.run(loops.loop(), "A-1")
    pool.run(loops.loop(), "B-2", worker=_kept(pool))
    loops.wait_for(2)
    [(first_name, first), (second_name, second)] = loops.ran
    assert (first_name, second_name) == ("A-1", "B-2")  # named after the actor it runs
    assert first is second  # one thread for both
    pool.release(_kept(pool))
    _exits(first)


@pytest.mark.parametrize(
    ("limit", "value"),
    [("KEEP_SECONDS", 0.05), ("MAX_KEPT", 0)],
    ids=["an unused thread exits after its keep", "beyond the cap a thread is not kept"],
)
def test_a_thread_not_kept_exits(monkeypatch: pytest.MonkeyPatch, limit: str, value: float) -> None:
    monkeypatch.setattr(threads, limit, value)
    pool, loops = ActorThreads(), Loops()
    pool.run(loops.loop(), "A-1")
    loops.wait_for(1)
    _exits(loops.ran[0][1])
    assert pool.take() is None


def test_a_closed_pool_lets_its_threads_go() -> None:
    pool, loops = ActorThreads(), Loops()
    pool.run(loops.loop(), "A-1")
    loops.wait_for(1)
    worker = _kept(pool)
    pool.run(loops.loop(), "B-2", worker=worker)  # a kept thread is taken, then reused
    loops.wait_for(2)
    pool.close()  # the relay stops: idle threads exit, and so does every later one
    _exits(loops.ran[0][1])
    pool.run(loops.loop(), "C-3")
    loops.wait_for(3)
    _exits(loops.ran[2][1])
    assert pool.take() is None
    pool.reopen()
