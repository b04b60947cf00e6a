"""The integration-token limiter: a sliding 60-second window on the injected clock."""

from __future__ import annotations

import threading

from relay.auth.ratelimit import RateLimiter
from relay.clock import ManualClock


def test_allows_the_budget_then_refuses() -> None:
    limiter = RateLimiter(ManualClock())
    assert [limiter.acquire("ci", 3) for _ in range(3)] == [None, None, None]
    assert limiter.acquire("ci", 3) == 60


def test_retry_after_counts_down_to_the_oldest_request_leaving() -> None:
    clock = ManualClock()
    limiter = RateLimiter(clock)
    assert limiter.acquire("ci", 1) is None
    clock.advance(59.2)
    assert limiter.acquire("ci", 1) == 1  # 0.8 s left rounds up, never 0
    clock.advance(0.8)
    assert limiter.acquire("ci", 1) is None


def test_window_slides_one_request_at_a_time() -> None:
    clock = ManualClock()
    limiter = RateLimiter(clock)
    assert limiter.acquire("ci", 2) is None  # t=0
    clock.advance(30)
    assert limiter.acquire("ci", 2) is None  # t=30
    assert limiter.acquire("ci", 2) == 30
    clock.advance(30)
    assert limiter.acquire("ci", 2) is None  # t=60: the t=0 request left
    assert limiter.acquire("ci", 2) == 30  # the t=30 one is still in


def test_refused_requests_do_not_spend_budget() -> None:
    clock = ManualClock()
    limiter = RateLimiter(clock)
    assert limiter.acquire("ci", 1) is None
    for _ in range(10):
        assert limiter.acquire("ci", 1) is not None
    clock.advance(60)
    assert limiter.acquire("ci", 1) is None


def test_keys_have_separate_budgets() -> None:
    limiter = RateLimiter(ManualClock())
    assert limiter.acquire("a", 1) is None
    assert limiter.acquire("b", 1) is None
    assert limiter.acquire("a", 1) == 60


def test_threads_never_overspend() -> None:
    limiter = RateLimiter(ManualClock())
    results: list[int | None] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def hammer() -> None:
        start.wait()
        for _ in range(50):
            outcome = limiter.acquire("ci", 100)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(None) == 100
    assert len(results) == 800
