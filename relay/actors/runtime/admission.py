"""Shedding the sends a relay cannot keep up with: a bound on sends in flight.

A send fans out (a broadcast queues a delivery per agent). Offered more than it handles,
the relay used to take every send and queue it, so each client waited up to its own
timeout while the backlog grew (in the issue-19 benchmark, 9,786 of 12,000 channel posts
waited out 30 s). Past the bound a send is refused at once with 503 and ``Retry-After``,
before it reads or writes anything: the sends admitted keep their latency, and a client
backs off instead of adding to the backlog. A refused send changes nothing, so its retry
with the same ``clientMessageId`` is still the first.

Used on the trio thread only (the HTTP routes and the MCP tools), so no lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from relay.errors import Unavailable


class Admission:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.shed = 0  # sends refused since start-up (a Prometheus counter)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``limit`` slots for the block; raise ``Unavailable`` if none."""
        if self.in_flight >= self.limit:
            self.shed += 1
            raise Unavailable(f"relay overloaded: {self.limit} sends in flight, retry later")
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
