"""Hand-offs: an actor gives what it produces straight to a trio task already waiting.

A long-poll that found nothing offers a ``Waiter`` under its target's key; the actor that
produces the next item (an inbox queuing a delivery) claims the first open offer and fills
it in the same step, instead of ringing a bell so that the waiter asks it again. A claim
and a withdrawal are one atomic step each (the waiter's future: ``set_running`` against
``cancel``), so exactly one side wins: a withdrawn offer is never filled, and a claimed one
is always filled (its value or the error that stopped it).
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any, Generic, TypeVar

P = TypeVar("P")
T = TypeVar("T")


class Waiter(Generic[P, T]):
    """One waiting task's offer: what it asks for (``wants``) and where its answer goes."""

    __slots__ = ("result", "wants")

    def __init__(self, wants: P) -> None:
        self.wants = wants
        self.result: concurrent.futures.Future[T] = concurrent.futures.Future()

    def claim(self) -> bool:
        """Producer side: take the offer unless it was withdrawn; the claimer must then
        ``give`` or ``fail`` it."""
        return self.result.set_running_or_notify_cancel()

    def give(self, value: T) -> None:
        self.result.set_result(value)

    def fail(self, error: BaseException) -> None:
        self.result.set_exception(error)

    def withdraw(self) -> bool:
        """Waiter side (never blocks): True when withdrawn before any claim; False when a
        producer claimed it first, and ``result`` holds (or will) what it was given."""
        return self.result.cancel()


class Handoffs:
    """Open offers by key, oldest first; thread-safe (trio offers, actors claim)."""

    def __init__(self) -> None:
        self._offers: dict[str, list[Waiter[Any, Any]]] = {}
        self._lock = threading.Lock()

    def offer(self, key: str, waiter: Waiter[P, T]) -> None:
        with self._lock:
            # Withdrawn already (its ask gave up before the actor got to it): kept, it
            # would stay listed until the key's next claim.
            if not waiter.result.cancelled():
                self._offers.setdefault(key, []).append(waiter)

    def withdraw(self, key: str, waiter: Waiter[P, T]) -> bool:
        """Take ``waiter``'s offer back (see ``Waiter.withdraw``); it leaves the key."""
        withdrawn = waiter.withdraw()
        with self._lock:
            offers = self._offers.get(key)
            # Not there once claimed: the claimer took it off.
            if offers is not None and waiter in offers:
                offers.remove(waiter)
                if not offers:
                    del self._offers[key]
        return withdrawn

    def claim(self, key: str) -> Waiter[Any, Any] | None:
        """The oldest open offer under ``key``, claimed and taken off; None if none is open."""
        with self._lock:
            offers = self._offers.get(key)
            while offers:
                waiter = offers.pop(0)
                if waiter.claim():
                    if not offers:
                        del self._offers[key]
                    return waiter
            self._offers.pop(key, None)
            return None

    def waiting(self, key: str) -> int:
        """How many offers are listed under ``key`` (for tests and metrics)."""
        with self._lock:
            return len(self._offers.get(key, ()))
