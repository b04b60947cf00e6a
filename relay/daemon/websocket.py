"""Opening the channel's WebSocket on a socket the daemon owns.

``trio_websocket.open_websocket_url`` leaves the client's socket to the garbage collector
when the server refuses the handshake (0.12) — which a standby does every time (307) — so
the daemon opens the TCP (or TLS) stream itself and closes it whatever happens.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import trio
from trio_websocket import HandshakeError, WebSocketConnection, wrap_client_stream

CONNECT_TIMEOUT_SECONDS = 10.0
DISCONNECT_TIMEOUT_SECONDS = 5.0

HandshakeFailure = HandshakeError | OSError | trio.TooSlowError


async def open_websocket(
    url: str,
    headers: list[tuple[bytes, bytes]],
    on_open: Callable[[WebSocketConnection], Awaitable[None]],
    *,
    max_message_size: int,
) -> HandshakeFailure | None:
    """Connect to ``url`` (ws:// or wss://) and run ``on_open`` on the socket until it returns.

    Returns the handshake's failure (refused with a status — ``ConnectionRejected`` —,
    unreachable, too slow) as a value, so the caller can try another relay; None once an
    opened socket was served. What ``on_open`` raises propagates.
    """
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if port in (80, 443) else f"{host}:{port}"
    stream: trio.abc.Stream
    try:
        with trio.fail_after(CONNECT_TIMEOUT_SECONDS):
            if secure:
                stream = await trio.open_ssl_over_tcp_stream(
                    host, port, ssl_context=ssl.create_default_context(), https_compatible=True
                )
            else:
                stream = await trio.open_tcp_stream(host, port)
    except (OSError, trio.TooSlowError) as exc:
        return exc
    opened = False
    try:
        async with stream, trio.open_nursery() as nursery:
            try:
                with trio.fail_after(CONNECT_TIMEOUT_SECONDS):
                    ws = await wrap_client_stream(
                        nursery,
                        stream,
                        host_header,
                        resource,
                        extra_headers=headers,
                        max_message_size=max_message_size,
                    )
            except (HandshakeError, OSError, trio.TooSlowError) as exc:
                nursery.cancel_scope.cancel()
                return exc
            opened = True
            try:
                await on_open(ws)
            finally:
                with trio.move_on_after(DISCONNECT_TIMEOUT_SECONDS) as closing:
                    closing.shield = True
                    await ws.aclose()
                nursery.cancel_scope.cancel()
    except ExceptionGroup as group:
        # A refusal is raised by trio_websocket's reader task, so it arrives in a group.
        failure = _sole_failure(group)
        if opened or failure is None:
            raise
        return failure
    return None


def _sole_failure(group: ExceptionGroup[Exception]) -> HandshakeFailure | None:
    matched, rest = group.split((HandshakeError, OSError, trio.TooSlowError))
    if matched is None or rest is not None:
        return None
    found: Exception = matched
    while isinstance(found, ExceptionGroup):
        found = found.exceptions[0]
    return found if isinstance(found, HandshakeError | OSError | trio.TooSlowError) else None
