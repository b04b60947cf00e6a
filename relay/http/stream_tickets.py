"""Stream tickets: how a browser's ``EventSource`` (which cannot send headers) authenticates.

The page asks ``POST /api/events/ticket`` with its token in the ``Authorization``
header and opens ``/api/events?ticket=…``. A ticket is random, single-use, short-lived
and bound to the principal that asked for it; it lives in this process's memory only,
so a token never appears in a URL (nor in a log line).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from relay.auth.access import Principal
from relay.clock import Clock
from relay.errors import Unauthorized

_MAX_OPEN = 10_000  # more unredeemed tickets than this: the oldest go first


@dataclass(frozen=True, slots=True)
class _Issued:
    principal: Principal
    expires_at: int


class TicketBook:
    """Issues and redeems stream tickets. Used on the trio thread only."""

    def __init__(self, clock: Clock, *, ttl_seconds: float) -> None:
        self._clock = clock
        self._ttl_ms = int(ttl_seconds * 1000)
        self._open: dict[str, _Issued] = {}

    def issue(self, principal: Principal) -> tuple[str, int]:
        """A fresh ticket for ``principal`` and when it expires (epoch ms)."""
        now = self._clock.now_ms()
        self._forget_expired(now)
        while len(self._open) >= _MAX_OPEN:
            del self._open[next(iter(self._open))]
        ticket = secrets.token_urlsafe(32)
        expires_at = now + self._ttl_ms
        self._open[ticket] = _Issued(principal, expires_at)
        return ticket, expires_at

    def redeem(self, ticket: str) -> Principal:
        """The ticket's principal; the ticket is spent. Raises ``Unauthorized``."""
        issued = self._open.pop(ticket, None)
        if issued is None or issued.expires_at <= self._clock.now_ms():
            raise Unauthorized("unauthorized")
        return issued.principal

    def _forget_expired(self, now: int) -> None:
        # Issued in time order with one ttl, so expired tickets are at the front.
        for ticket, issued in list(self._open.items()):
            if issued.expires_at > now:
                break
            del self._open[ticket]
