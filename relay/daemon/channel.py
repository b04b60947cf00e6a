"""The command channel, from the daemon's side: WebSocket push, long-poll as the fallback.

``Channel.serve`` keeps a channel open for as long as the daemon runs and hands
every delivered command to ``on_command``. It prefers the WebSocket
(``WS /api/orchestrators/:id/channel``); when that cannot be had it long-polls
(``GET …/commands?wait=N``) for a while and then tries the WebSocket again. After a
failure of both it waits a capped exponential backoff with jitter (shortened to a
standby's hint: a new active is being elected).

With several relay URLs the WebSocket handshake follows the client's rules
(``relay.daemon.relays``): a standby refuses it with 307 + ``Location`` and the channel
opens on the active instead; a refused connection or a 503 tries the next URL.

``Channel.send_status`` sends a status report over the open WebSocket and waits for
the relay's reply (replies come back in the order the reports were sent); it
returns None when there is no socket, so the caller falls back to ``PATCH``.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, WebSocketConnection

from relay.daemon.backoff import Backoff
from relay.daemon.client import (
    MAX_REDIRECTS,
    RelayClient,
    RelayRejected,
    RelayUnavailable,
    retry_delay,
)
from relay.daemon.outcome import JSON
from relay.daemon.relays import ELECTION_RETRY_SECONDS, REDIRECTS, relay_base
from relay.daemon.websocket import open_websocket

log = logging.getLogger("relay.daemon.channel")

OnCommand = Callable[[JSON], Awaitable[None]]

STATUS_REPLY_SECONDS = 10.0
PING_EVERY_SECONDS = 20.0
PING_TIMEOUT_SECONDS = 10.0
LONG_POLL_ROUNDS_SECONDS = 60.0  # long-poll this long before trying the WebSocket again
STABLE_SECONDS = 5.0  # a connection that lasted this long resets the backoff
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class _Waiter:
    command_id: str
    done: trio.Event = field(default_factory=trio.Event)
    reply: JSON | None = None


class Channel:
    def __init__(
        self,
        client: RelayClient,
        orchestrator_id: str,
        on_command: OnCommand,
        *,
        backoff: Backoff,
        long_poll_seconds: int = 25,
    ) -> None:
        self.client = client
        self.orchestrator_id = orchestrator_id
        self.on_command = on_command
        self.backoff = backoff
        self.long_poll_seconds = long_poll_seconds
        self.mode = "connecting"
        self.connected = trio.Event()  # set the first time a channel is up (for tests, logs)
        self._ws: WebSocketConnection | None = None
        self._send_lock = trio.Lock()
        self._waiters: deque[_Waiter] = deque()

    # -- keeping a channel ---------------------------------------------------------------------

    async def serve(self) -> None:
        while True:
            started = trio.current_time()
            try:
                await self._websocket()
            except RelayRejected as exc:
                log.warning("channel_websocket_refused status=%s error=%s", exc.status, exc.message)
            except (OSError, ConnectionClosed, trio.TooSlowError, RelayUnavailable) as exc:
                log.info("channel_websocket_down error=%s", _describe(exc))
            except ExceptionGroup as group:  # a socket task failed next to another one
                log.warning("channel_websocket_down error=%s", _describe(group), exc_info=group)
            if trio.current_time() - started >= STABLE_SECONDS:
                self.backoff.reset()
            down: RelayUnavailable | None = None
            try:
                await self._long_poll(LONG_POLL_ROUNDS_SECONDS)
                self.backoff.reset()
                continue
            except RelayRejected as exc:
                log.warning("channel_poll_refused status=%s error=%s", exc.status, exc.message)
            except RelayUnavailable as exc:
                log.info("channel_poll_down error=%s", exc)
                down = exc
            self.mode = "disconnected"
            delay = self.backoff.next()
            if down is not None:
                delay = retry_delay(delay, down)
            log.info("channel_reconnect_in seconds=%.2f", delay)
            await trio.sleep(delay)

    async def _websocket(self) -> None:
        """Open the socket on the relay in use, trying the others in one round.

        Returns when an open socket closes; raises when no relay gave one.
        """
        path = f"/api/orchestrators/{self.orchestrator_id}/channel"
        headers = [(b"Authorization", f"Bearer {self.client.token}".encode())]
        relays = self.client.relays
        tried: set[str] = set()
        redirects = 0
        while True:
            base = relays.current
            failed = await open_websocket(
                self.client.websocket_url(path),
                headers,
                self._on_websocket,
                max_message_size=MAX_MESSAGE_BYTES,
            )
            if failed is None:
                return
            if isinstance(failed, ConnectionRejected):
                if failed.status_code in REDIRECTS:
                    target = relay_base(_header(failed, b"location"), base, path)
                    if target is None:
                        raise RelayRejected(failed.status_code, "a redirect without a Location")
                    relays.follow(target, f"{failed.status_code} from a standby")
                    if target in tried or redirects >= MAX_REDIRECTS:
                        raise RelayUnavailable(
                            f"websocket: {target} did not answer",
                            retry_after=ELECTION_RETRY_SECONDS,
                        )
                    redirects += 1
                    continue
                if failed.status_code != 503:
                    raise _rejection(failed)
            tried.add(base)
            failure = _describe(failed)
            if relays.fail(failure[:200]) in tried:
                raise RelayUnavailable(f"websocket handshake failed: {failure}")

    async def _on_websocket(self, ws: WebSocketConnection) -> None:
        self._ws = ws
        self.mode = "websocket"
        self.connected.set()
        log.info("channel_open mode=websocket")
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._keepalive, ws)
                try:
                    while True:
                        raw = await ws.get_message()
                        await self._dispatch(raw)
                except ConnectionClosed as exc:
                    log.info("channel_closed mode=websocket reason=%s", exc.reason)
                nursery.cancel_scope.cancel()
        finally:
            self._ws = None
            self.mode = "disconnected"
            while self._waiters:
                self._waiters.popleft().done.set()  # no reply: the reporter falls back to PATCH

    async def _keepalive(self, ws: WebSocketConnection) -> None:
        """Ping now and then: a relay that stopped answering ends the connection."""
        while True:
            await trio.sleep(PING_EVERY_SECONDS)
            try:
                with trio.fail_after(PING_TIMEOUT_SECONDS):
                    await ws.ping()
            except (trio.TooSlowError, ConnectionClosed):
                log.info("channel_ping_failed")
                await ws.aclose()
                return

    async def _dispatch(self, raw: str | bytes) -> None:
        try:
            message: Any = json.loads(raw)
        except ValueError:
            log.warning("channel_bad_message")
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "command" and isinstance(message.get("command"), dict):
            await self.on_command(message["command"])
        elif kind in ("status-ok", "error") and "commandId" in message and self._waiters:
            waiter = self._waiters.popleft()
            waiter.reply = message
            waiter.done.set()
        elif kind == "error":
            log.warning("channel_error error=%s", message.get("error"))

    async def _long_poll(self, duration: float) -> None:
        deadline = trio.current_time() + duration
        first = True
        while trio.current_time() < deadline:
            commands = await self.client.poll_commands(
                self.orchestrator_id, 0 if first else self.long_poll_seconds
            )
            if first:
                self.mode = "long-poll"
                self.connected.set()
                log.info("channel_open mode=long-poll")
                first = False
            for command in commands:
                await self.on_command(command)

    # -- reporting over the socket ---------------------------------------------------------------

    async def send_status(self, report: JSON) -> JSON | None:
        """Send ``{"type": "status", …}``; the relay's reply, or None without a socket."""
        waiter = _Waiter(str(report.get("commandId")))
        async with self._send_lock:
            ws = self._ws
            if ws is None:
                return None
            self._waiters.append(waiter)
            try:
                await ws.send_message(json.dumps({"type": "status", **report}))
            except ConnectionClosed:
                return None
        with trio.move_on_after(STATUS_REPLY_SECONDS):
            await waiter.done.wait()
        if waiter.reply is None and waiter in self._waiters:
            # No reply in time: the socket is unhealthy; drop it so the channel reconnects.
            await ws.aclose()
        return waiter.reply


def _rejection(exc: BaseException) -> Exception:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and 400 <= status < 500:
        body = getattr(exc, "body", b"") or b""
        try:
            message = json.loads(body).get("error", "")
        except (ValueError, AttributeError):
            message = ""
        return RelayRejected(status, message or "websocket refused")
    return RelayUnavailable(f"websocket handshake failed: {_describe(exc)}")


def _header(exc: ConnectionRejected, name: bytes) -> str:
    for key, value in exc.headers or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
