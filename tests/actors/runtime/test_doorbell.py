"""Doorbells: a ring wakes who took the bell before it, and only them."""

from __future__ import annotations

import trio
import trio.testing

from relay.actors.runtime.doorbell import Doorbells


async def test_a_ring_from_another_thread_wakes_that_target_only() -> None:
    bells = Doorbells()
    bells.attach(trio.lowlevel.current_trio_token())
    first, other = bells.bell("o1"), bells.bell("o2")
    await trio.to_thread.run_sync(bells.ring, "o1")
    with trio.fail_after(5):  # a guard: the ring is already queued for this thread
        await first.wait()
    assert not other.is_set()
    assert bells.armed("o2")
    assert not bells.armed("o1")
    assert not bells.bell("o1").is_set()  # the next waiter gets a fresh bell


async def test_ring_all_wakes_every_target() -> None:
    bells = Doorbells()
    taken = [bells.bell(target) for target in ("o1", "o2", "a1")]
    bells.ring_all()
    assert all(bell.is_set() for bell in taken)
    assert not any(bells.armed(target) for target in ("o1", "o2", "a1"))


async def test_a_ring_on_the_trio_thread_sets_the_bell_at_once() -> None:
    bells = Doorbells()
    bells.attach(trio.lowlevel.current_trio_token())
    bell = bells.bell("a1")
    bells.ring("a1")
    assert bell.is_set()  # no hand-off through the token, no checkpoint needed
    assert not bells.armed("a1")
