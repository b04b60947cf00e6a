"""Per-credential request budgets: at most N requests in any sliding 60-second window.

The limiter is held in memory: it is per process and starts empty on restart
(a restart hands every integration a fresh budget). It reads time only from the
injected clock, so tests move a ``ManualClock`` instead of sleeping.
"""

from __future__ import annotations

import threading
from collections import deque

from relay.clock import Clock

WINDOW_MS = 60_000


class RateLimiter:
    """A sliding-log limiter keyed by credential name; safe to call from any thread.

    ``acquire`` does all of its work under one lock and never awaits, so concurrent
    requests (trio tasks or threads) can never both take the last slot.
    """

    def __init__(self, clock: Clock, *, window_ms: int = WINDOW_MS) -> None:
        self._clock = clock
        self._window_ms = window_ms
        self._log: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, limit: int) -> int | None:
        """Spend one request of ``key``'s budget.

        Returns:
            ``None`` when the request may go ahead, else the whole seconds (at least 1)
            until the oldest request in the window leaves it and a slot frees up.
        """
        now = self._clock.now_ms()
        with self._lock:
            log = self._log.setdefault(key, deque())
            while log and log[0] <= now - self._window_ms:
                log.popleft()
            if len(log) < limit:
                log.append(now)
                return None
            # The window holds ``limit`` requests: the (len - limit + 1)-th oldest must leave.
            frees_at = log[len(log) - limit] + self._window_ms
            return max(1, -(-(frees_at - now) // 1000))
