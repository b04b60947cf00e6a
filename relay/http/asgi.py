"""relay's Quart app class: quart-trio's, with the last write of a response shielded.

quart-trio serves a request with two tasks: one sends the response, the other reads the
client's messages and cancels both once it reads ``http.disconnect``. hypercorn delivers
that disconnect from inside the response's last ``send``, while it is still recycling the
keep-alive connection, so the cancellation lands there and hypercorn's idle watcher never
starts. Such a connection was then closed by nothing: not by the keep-alive timeout, and
not by a graceful shutdown, which waited its whole ``graceful_timeout`` on a client that
was only idling. Shielding that last ``send`` lets hypercorn finish its bookkeeping; it
only ever writes what is already buffered.

A streamed upload's body (``BODY_LIMITS``) is also paced: quart reads the client's body
messages as fast as they come and appends them to one buffer, so a client faster than the
disk (or a server busy elsewhere) had the whole upload in memory, twice when the reader
copied it out. ``PacedBody`` stops taking messages while ``HIGH_WATER`` bytes wait for the
reader; hypercorn's bounded app queue then stops reading the socket, and TCP slows the
client.
"""

from __future__ import annotations

from typing import Any

import trio
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
)
from quart.wrappers import Request
from quart_trio import QuartTrio
from quart_trio.asgi import TrioASGIHTTPConnection
from quart_trio.wrappers.request import TrioBody

# Routes whose body has a limit of its own instead of ``MAX_CONTENT_LENGTH``: the
# (method, path) and the app config key holding the limit. An artifact upload is a raw
# body streamed to disk (``relay.http.artifacts``), up to ``RELAY_ARTIFACT_MAX_BYTES``.
BODY_LIMITS: dict[tuple[str, str], str] = {("POST", "/api/artifacts"): "ARTIFACT_MAX_BYTES"}

# Bytes a streamed body may hold for its reader before no more are taken from the client.
HIGH_WATER = 1 << 20


class PacedBody(TrioBody):
    """A request body whose writer waits while ``HIGH_WATER`` bytes are unread.

    The limit check stays the reader's (``relay.actors.artifacts``: it counts every byte
    it takes), since this buffer never holds more than about ``HIGH_WATER``.
    """

    def __init__(
        self,
        expected_content_length: int | None,
        max_content_length: int | None,
        high_water: int = HIGH_WATER,
    ) -> None:
        super().__init__(expected_content_length, max_content_length)
        self.high_water = high_water
        self._taken = trio.Event()
        self._released = False

    async def wait_for_room(self) -> None:
        """Return once the reader has taken what is buffered below ``high_water``, or once
        nobody will read (``release``)."""
        while len(self._data) >= self.high_water and not self._released:
            self._taken = trio.Event()
            await self._taken.wait()

    async def __anext__(self) -> bytes:
        try:
            return await super().__anext__()
        finally:
            self._taken.set()

    def release(self) -> None:
        """The handler is done: take the rest as quart would (it is not read)."""
        self._released = True
        self._taken.set()


class _HTTPConnection(TrioASGIHTTPConnection):
    def _create_request_from_scope(self, send: ASGISendCallable) -> Request:
        request = super()._create_request_from_scope(send)
        key = BODY_LIMITS.get((request.method, request.path))
        if key is not None and key in self.app.config:
            # The body is built with its limit (a Content-Length past it is refused before
            # a byte is read; a body growing past it while buffered is refused then).
            limit: int = self.app.config[key]
            request.body = PacedBody(request.content_length, limit)
            request.max_content_length = limit
        return request

    async def handle_messages(  # type: ignore[override]
        self, nursery: trio.Nursery, request: Request, receive: ASGIReceiveCallable
    ) -> None:
        body = request.body
        if not isinstance(body, PacedBody):
            await super().handle_messages(nursery, request, receive)
            return

        async def paced_receive() -> ASGIReceiveEvent:
            await body.wait_for_room()
            return await receive()

        await super().handle_messages(nursery, request, paced_receive)

    async def handle_request(  # type: ignore[override]
        self, nursery: trio.Nursery, request: Request, send: ASGISendCallable
    ) -> None:
        async def send_last_shielded(message: ASGISendEvent) -> None:
            if is_last_body(message):
                with trio.CancelScope(shield=True):
                    await send(message)
            else:
                await send(message)

        try:
            await super().handle_request(nursery, request, send_last_shielded)
        finally:
            if isinstance(request.body, PacedBody):
                request.body.release()


def is_last_body(message: Any) -> bool:
    """Whether ``message`` ends an HTTP response."""
    return bool(message.get("type") == "http.response.body" and not message.get("more_body", False))


class RelayApp(QuartTrio):
    asgi_http_class = _HTTPConnection
