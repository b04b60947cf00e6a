"""Hand-offs: one of claim and withdraw wins, oldest offer first, nothing left behind."""

from __future__ import annotations

import threading

from relay.actors.runtime.handoff import Handoffs, Waiter


def test_the_oldest_open_offer_is_claimed_and_taken_off() -> None:
    offers = Handoffs()
    first: Waiter[int, str] = Waiter(1)
    second: Waiter[int, str] = Waiter(2)
    offers.offer("k", first)
    offers.offer("k", second)
    assert offers.waiting("k") == 2
    claimed = offers.claim("k")
    assert claimed is first
    assert offers.waiting("k") == 1
    claimed.give("x")
    # Claimed first: withdrawing is too late, and the value is there.
    assert not offers.withdraw("k", first)
    assert first.result.result(timeout=0) == "x"
    assert offers.withdraw("k", second)
    assert offers.waiting("k") == 0
    assert offers.claim("k") is None


def test_a_withdrawn_offer_is_never_claimed() -> None:
    offers = Handoffs()
    gone: Waiter[int, str] = Waiter(1)
    offers.offer("k", gone)
    assert gone.withdraw()  # withdrawn but still listed: the claim skips it, drops it
    assert offers.waiting("k") == 1
    assert offers.claim("k") is None
    assert offers.waiting("k") == 0


def _race() -> tuple[bool, bool, int]:
    """A claim on another thread and a withdrawal here, released together."""
    offers = Handoffs()
    waiter: Waiter[int, str] = Waiter(1)
    offers.offer("k", waiter)
    claimed: list[bool] = []
    barrier = threading.Barrier(2)

    def claim() -> None:
        barrier.wait()
        claimed.append(offers.claim("k") is not None)

    thread = threading.Thread(target=claim)
    thread.start()
    barrier.wait()
    withdrawn = offers.withdraw("k", waiter)
    thread.join()
    return claimed[0], withdrawn, offers.waiting("k")


def test_an_offer_withdrawn_before_it_is_made_is_not_listed() -> None:
    offers = Handoffs()
    late: Waiter[int, str] = Waiter(1)
    assert offers.withdraw("k", late)  # the fetch gave up before the actor offered it
    offers.offer("k", late)
    assert offers.waiting("k") == 0


def test_claim_and_withdraw_race_one_winner() -> None:
    for _ in range(200):
        claimed, withdrawn, left = _race()
        assert claimed != withdrawn
        assert left == 0
