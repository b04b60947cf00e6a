"""Presence: heartbeat times gathered over a window and sent to the streams, never stored."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from relay.events.hub import EventHub

__all__ = ["PRESENCE_WINDOW_SECONDS", "PresenceBoard"]

log = logging.getLogger("relay.events")

PRESENCE_WINDOW_SECONDS = 1.0


class PresenceBoard:
    """Heartbeat times that moved in the current window, waiting to go to the streams.

    ``agent_seen`` and ``orchestrator_seen`` are called by the heartbeat handlers (actor
    threads): a dict assignment under a lock, and once per window a call onto the trio
    thread, which sends the window ``PRESENCE_WINDOW_SECONDS`` later. Nothing is stored.
    """

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self._lock = threading.Lock()
        self._agents: dict[str, int] = {}
        self._orchestrators: dict[str, int] = {}
        self._scheduled = False
        self.window_seconds = PRESENCE_WINDOW_SECONDS

    def agent_seen(self, agent_id: str, at_ms: int) -> None:
        self._touch(self._agents, agent_id, at_ms)

    def orchestrator_seen(self, orchestrator_id: str, at_ms: int) -> None:
        self._touch(self._orchestrators, orchestrator_id, at_ms)

    def _touch(self, moved: dict[str, int], key: str, at_ms: int) -> None:
        with self._lock:
            moved[key] = at_ms
            if self._scheduled:
                return
            token = self._hub.trio_token
            if token is None:
                moved.clear()  # not started (or stopped): nobody to tell
                return
            self._scheduled = True
        try:
            token.run_sync_soon(self._open_window)
        except trio.RunFinishedError:
            with self._lock:
                self._scheduled = False

    def _open_window(self) -> None:
        # A trio callback, and a system task: anything they raised would end the whole run.
        try:
            if self._hub.trio_token is None:
                raise RuntimeError("the hub stopped")
            trio.lowlevel.spawn_system_task(self._close_window, name="relay.events.presence")
        except RuntimeError:  # stopped, or the run is ending ("closed to new arrivals")
            with self._lock:
                self._agents.clear()
                self._orchestrators.clear()
                self._scheduled = False

    async def _close_window(self) -> None:
        try:
            await trio.sleep(self.window_seconds)
        finally:  # also when the run ends first: the next run's beats open a window again
            with self._lock:
                agents, self._agents = self._agents, {}
                orchestrators, self._orchestrators = self._orchestrators, {}
                self._scheduled = False
        try:
            self._hub.send_presence(agents, orchestrators)
        except Exception:
            log.exception("sse_presence_failed")
