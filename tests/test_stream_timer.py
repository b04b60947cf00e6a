"""The streams' timer (``relay.stream_timer``) on trio's mock clock: each sleeper is woken
once its deadline passes, at that time, and only if it still waits for it."""

from __future__ import annotations

import math

import trio
import trio.testing

from relay.stream_timer import StreamTimer


class Sleeper:
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.woken_at: list[float] = []

    def wake(self) -> None:
        self.woken_at.append(trio.current_time())


async def test_a_sleeper_is_woken_at_its_deadline(autojump_clock: trio.testing.MockClock) -> None:
    timer = StreamTimer()
    start = trio.current_time()
    late, early = Sleeper(start + 15), Sleeper(start + 5)
    timer.watch(late)
    await trio.sleep(1)
    timer.watch(early)  # earlier than what the timer sleeps towards
    await trio.sleep(20)
    assert early.woken_at == [start + 5]
    assert late.woken_at == [start + 15]


async def test_a_deadline_moved_later_wakes_then_not_before(
    autojump_clock: trio.testing.MockClock,
) -> None:
    timer = StreamTimer()
    start = trio.current_time()
    sleeper = Sleeper(start + 15)
    timer.watch(sleeper)
    await trio.sleep(10)
    sleeper.deadline = start + 25  # it wrote at +10: its keep-alive moved
    timer.watch(sleeper)
    await trio.sleep(30)
    assert sleeper.woken_at == [start + 25]


async def test_a_forgotten_sleeper_is_not_woken(autojump_clock: trio.testing.MockClock) -> None:
    timer = StreamTimer()
    gone, stays = Sleeper(trio.current_time() + 5), Sleeper(trio.current_time() + 6)
    timer.watch(gone)
    timer.watch(stays)
    timer.forget(gone)
    await trio.sleep(10)
    assert gone.woken_at == []
    assert len(stays.woken_at) == 1


async def test_no_deadline_is_not_watched(autojump_clock: trio.testing.MockClock) -> None:
    timer = StreamTimer()
    sleeper = Sleeper(math.inf)
    timer.watch(sleeper)
    await trio.sleep(1000)
    assert sleeper.woken_at == []


async def test_the_timer_starts_again_after_it_ran_out_of_sleepers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    timer = StreamTimer()
    first = Sleeper(trio.current_time() + 1)
    timer.watch(first)
    await trio.sleep(2)
    second = Sleeper(trio.current_time() + 1)
    timer.watch(second)
    await trio.sleep(2)
    assert len(first.woken_at) == len(second.woken_at) == 1
