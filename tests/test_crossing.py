"""Hand-offs to a loop's thread (relay.crossing): a burst of calls costs one schedule."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from functools import partial

import pytest
import trio
import trio.testing

from relay.crossing import Batched, trio_calls, wait_future


class FakeLoop:
    """A loop whose ``schedule`` only records the drains it was handed."""

    def __init__(self) -> None:
        self.scheduled: list[Callable[[], object]] = []
        self.refuse: BaseException | None = None

    def schedule(self, call: Callable[[], object]) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.scheduled.append(call)

    def run_scheduled(self) -> None:
        drains, self.scheduled = self.scheduled, []
        for drain in drains:
            drain()


def test_a_burst_is_scheduled_once_and_runs_in_call_order() -> None:
    loop = FakeLoop()
    calls = Batched(loop.schedule)
    ran: list[int] = []
    for n in range(5):
        calls.call_soon(partial(ran.append, n))

    assert len(loop.scheduled) == 1
    assert ran == []
    loop.run_scheduled()
    assert ran == [0, 1, 2, 3, 4]


def test_a_call_after_the_drain_schedules_a_new_one() -> None:
    loop = FakeLoop()
    calls = Batched(loop.schedule)
    ran: list[str] = []
    calls.call_soon(lambda: ran.append("first"))
    loop.run_scheduled()
    calls.call_soon(lambda: ran.append("second"))

    assert len(loop.scheduled) == 1
    loop.run_scheduled()
    assert ran == ["first", "second"]


def test_a_call_made_while_draining_runs_in_the_next_drain() -> None:
    loop = FakeLoop()
    calls = Batched(loop.schedule)
    ran: list[str] = []
    calls.call_soon(lambda: calls.call_soon(lambda: ran.append("inner")))
    loop.run_scheduled()

    assert ran == []
    assert len(loop.scheduled) == 1
    loop.run_scheduled()
    assert ran == ["inner"]


def test_a_failing_call_does_not_stop_the_rest_and_the_loop_sees_it() -> None:
    loop = FakeLoop()
    calls = Batched(loop.schedule)
    ran: list[str] = []

    def boom() -> None:
        raise ValueError("boom")

    calls.call_soon(lambda: ran.append("before"))
    calls.call_soon(boom)
    calls.call_soon(lambda: ran.append("after"))
    with pytest.raises(ValueError, match="boom"):
        loop.run_scheduled()
    assert ran == ["before", "after"]


def test_a_loop_that_is_gone_fails_the_caller_and_a_later_call_tries_again() -> None:
    loop = FakeLoop()
    calls = Batched(loop.schedule)
    loop.refuse = RuntimeError("Event loop is closed")
    with pytest.raises(RuntimeError, match="closed"):
        calls.call_soon(lambda: None)

    loop.refuse = None
    ran: list[str] = []
    calls.call_soon(lambda: ran.append("later"))
    assert len(loop.scheduled) == 1  # not stuck behind the failed burst
    loop.run_scheduled()
    assert ran == ["later"]


def test_calls_from_many_threads_all_run_once() -> None:
    loop = FakeLoop()
    calls = Batched(loop.schedule)
    ran: list[tuple[int, int]] = []
    lock = threading.Lock()

    def hand_in(thread: int) -> None:
        for n in range(200):

            def record(thread: int = thread, n: int = n) -> None:
                with lock:
                    ran.append((thread, n))

            calls.call_soon(record)

    threads = [threading.Thread(target=hand_in, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    loop.run_scheduled()

    assert sorted(ran) == [(t, n) for t in range(4) for n in range(200)]
    for t in range(4):  # each thread's calls in its order
        assert [n for thread, n in ran if thread == t] == list(range(200))


async def test_waiters_woken_by_one_commit_cost_one_trio_wake_up() -> None:
    """Twenty futures resolved together (a group commit) hand the trio thread one drain, not
    twenty. They are resolved here on the trio thread itself, so that no drain can run before
    the last of them: from the store thread, how many join one burst depends on timing."""
    token = trio.lowlevel.current_trio_token()
    scheduled = 0
    real = token.run_sync_soon

    def counting(call: Callable[..., object], *args: object) -> None:
        nonlocal scheduled
        scheduled += 1
        real(call, *args)

    trio_calls()._schedule = counting
    futures: list[concurrent.futures.Future[int]] = [concurrent.futures.Future() for _ in range(20)]
    results: list[int] = []

    async def waiter(future: concurrent.futures.Future[int]) -> None:
        results.append(await wait_future(future, timeout=10, what="test"))

    async with trio.open_nursery() as nursery:
        for future in futures:
            nursery.start_soon(waiter, future)
        await trio.testing.wait_all_tasks_blocked()

        for n, future in enumerate(futures):
            future.set_result(n)

    assert sorted(results) == list(range(20))
    assert scheduled == 1


async def test_each_trio_run_has_its_own_calls() -> None:
    mine = trio_calls()
    assert trio_calls() is mine
    other: list[Batched] = []

    def second_run() -> None:
        async def grab() -> None:
            other.append(trio_calls())

        trio.run(grab)

    await trio.to_thread.run_sync(second_run)
    assert other[0] is not mine
