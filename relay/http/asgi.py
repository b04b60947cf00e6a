"""relay's Quart app class: quart-trio's, with the last write of a response shielded.

quart-trio serves a request with two tasks: one sends the response, the other reads the
client's messages and cancels both once it reads ``http.disconnect``. hypercorn delivers
that disconnect from inside the response's last ``send``, while it is still recycling the
keep-alive connection, so the cancellation lands there and hypercorn's idle watcher never
starts. Such a connection was then closed by nothing: not by the keep-alive timeout, and
not by a graceful shutdown, which waited its whole ``graceful_timeout`` on a client that
was only idling. Shielding that last ``send`` lets hypercorn finish its bookkeeping; it
only ever writes what is already buffered.
"""

from __future__ import annotations

from typing import Any

import trio
from hypercorn.typing import ASGISendCallable, ASGISendEvent
from quart.wrappers import Request
from quart_trio import QuartTrio
from quart_trio.asgi import TrioASGIHTTPConnection

# Routes whose body has a limit of its own instead of ``MAX_CONTENT_LENGTH``: the
# (method, path) and the app config key holding the limit. An artifact upload is a raw
# body streamed to disk (``relay.http.artifacts``), up to ``RELAY_ARTIFACT_MAX_BYTES``.
BODY_LIMITS: dict[tuple[str, str], str] = {("POST", "/api/artifacts"): "ARTIFACT_MAX_BYTES"}


class _HTTPConnection(TrioASGIHTTPConnection):
    def _create_request_from_scope(self, send: ASGISendCallable) -> Request:
        request = super()._create_request_from_scope(send)
        key = BODY_LIMITS.get((request.method, request.path))
        if key is not None and key in self.app.config:
            # The body is built with its limit (a Content-Length past it is refused before
            # a byte is read; a body growing past it while buffered is refused then).
            limit: int = self.app.config[key]
            request.body = request.body_class(request.content_length, limit)
            request.max_content_length = limit
        return request

    async def handle_request(  # type: ignore[override]
        self, nursery: trio.Nursery, request: Request, send: ASGISendCallable
    ) -> None:
        async def send_last_shielded(message: ASGISendEvent) -> None:
            if is_last_body(message):
                with trio.CancelScope(shield=True):
                    await send(message)
            else:
                await send(message)

        await super().handle_request(nursery, request, send_last_shielded)


def is_last_body(message: Any) -> bool:
    """Whether ``message`` ends an HTTP response."""
    return bool(message.get("type") == "http.response.body" and not message.get("more_body", False))


class RelayApp(QuartTrio):
    asgi_http_class = _HTTPConnection
