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

# Unredeemed tickets one token may hold; more, and its own oldest go first. A page needs
# one per stream it opens: a holder asking for thousands must not push out the tickets
# other users were issued a moment before they redeem them.
MAX_PER_HOLDER = 32
MAX_OPEN = 10_000  # a backstop over all holders: the oldest go first


@dataclass(frozen=True, slots=True)
class _Issued:
    principal: Principal
    holder: str
    expires_at: int


def _holder(principal: Principal) -> str:
    """Whose quota a ticket counts against: the token (its ``jti``), else its sub (root,
    or ``integration:<name>``: neither has a jti)."""
    return f"jti:{principal.jti}" if principal.jti is not None else principal.sub


class TicketBook:
    """Issues and redeems stream tickets. Used on the trio thread only."""

    def __init__(self, clock: Clock, *, ttl_seconds: float) -> None:
        self._clock = clock
        self._ttl_ms = int(ttl_seconds * 1000)
        self._open: dict[str, _Issued] = {}
        self._held: dict[str, dict[str, None]] = {}  # holder -> its open tickets, oldest first

    def issue(self, principal: Principal) -> tuple[str, int]:
        """A fresh ticket for ``principal`` and when it expires (epoch ms)."""
        now = self._clock.now_ms()
        self._forget_expired(now)
        holder = _holder(principal)
        held = self._held.get(holder, {})
        while len(held) >= MAX_PER_HOLDER:
            self._spend(next(iter(held)))
        while len(self._open) >= MAX_OPEN:
            self._spend(next(iter(self._open)))
        ticket = secrets.token_urlsafe(32)
        expires_at = now + self._ttl_ms
        self._open[ticket] = _Issued(principal, holder, expires_at)
        self._held.setdefault(holder, {})[ticket] = None
        return ticket, expires_at

    def redeem(self, ticket: str) -> Principal:
        """The ticket's principal; the ticket is spent. Raises ``Unauthorized``."""
        issued = self._spend(ticket)
        if issued is None or issued.expires_at <= self._clock.now_ms():
            raise Unauthorized("unauthorized")
        return issued.principal

    def _spend(self, ticket: str) -> _Issued | None:
        issued = self._open.pop(ticket, None)
        if issued is not None:
            held = self._held[issued.holder]
            del held[ticket]
            if not held:
                del self._held[issued.holder]
        return issued

    def _forget_expired(self, now: int) -> None:
        # Issued in time order with one ttl, so expired tickets are at the front.
        for ticket, issued in list(self._open.items()):
            if issued.expires_at > now:
                break
            self._spend(ticket)
