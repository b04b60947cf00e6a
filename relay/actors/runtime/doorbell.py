"""Doorbells: how an actor wakes the trio tasks waiting on a command queue.

A long-poll or WebSocket sender takes the current bell of its target *before*
asking the actor for commands; the actor rings the target's bell after it
queues one. A ring therefore never falls between "nothing for you" and
"wait", and nobody polls the database.
"""

from __future__ import annotations

import contextlib
import threading

import trio


class Doorbells:
    def __init__(self) -> None:
        self._bells: dict[str, trio.Event] = {}
        self._token: trio.lowlevel.TrioToken | None = None
        self._trio_thread: int | None = None
        self._lock = threading.Lock()

    def attach(self, token: trio.lowlevel.TrioToken) -> None:
        """Ring through ``token`` (call on the trio thread: rings from it need no hand-off)."""
        self._token = token
        self._trio_thread = threading.get_ident()

    def bell(self, target: str) -> trio.Event:
        """The event the next ring for ``target`` sets (call on the trio thread)."""
        with self._lock:
            event = self._bells.get(target)
            if event is None:
                event = self._bells[target] = trio.Event()
            return event

    def armed(self, target: str) -> bool:
        """Whether someone took ``target``'s bell and has not been woken yet."""
        with self._lock:
            return target in self._bells

    def ring(self, target: str) -> None:
        """Wake everyone waiting on ``target``; callable from any thread."""
        token = self._token
        if token is None:
            return
        if threading.get_ident() == self._trio_thread:
            # A send rings its recipients' inboxes from the trio thread: set the bell now
            # rather than through the token (a wake-up write and a callback per message).
            self._ring_now(target)
            return
        with contextlib.suppress(trio.RunFinishedError):
            token.run_sync_soon(self._ring_now, target)

    def ring_all(self) -> None:
        """Wake every waiter on every target (trio thread): the relay is stopping."""
        with self._lock:
            events = list(self._bells.values())
            self._bells.clear()
        for event in events:
            event.set()

    def _ring_now(self, target: str) -> None:
        with self._lock:
            event = self._bells.pop(target, None)
        if event is not None:
            event.set()
