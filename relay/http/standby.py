"""The standby gate: the ASGI app ``relay serve`` runs on PostgreSQL in front of the real one.

Every process serves at once, elected or not. Until this one is the active relay (and its
real app, whose lifespan starts the store, the actors and the schedule, has started), the
gate answers by itself:

- ``/healthz`` 200; ``/readyz`` 503 ``{"status": "standby", "active": URL|null, "epoch"}``,
  so a load balancer checking ``/readyz`` sends traffic only to the active;
- ``/api/cluster`` and ``/metrics`` (the election's gauges) as the active does, and
  ``/readyz`` and ``/api/cluster`` (with its preflight) readable by another member's
  dashboard as on the active (``relay.http.cors``);
- anything else, WebSocket handshakes included, 307 to the active's advertised URL with the
  same path and query, or 503 + ``Retry-After: 1`` while no active is known.

A redirect, not forwarding: a standby holds no state and proxies nothing, so a client
talks to the active directly (one hop, the active's own back-pressure), and a standby
that cannot reach the active cannot fail a request on its behalf.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from relay.election import Leadership
from relay.http.cluster import cluster_body
from relay.http.cors import CORS_PATHS, member_origins, preflight, read_headers
from relay.http.prometheus import leadership_text

ASGIApp = Any
Scope = Any
ASGIReceiveCallable = Callable[[], Awaitable[Any]]
ASGISendCallable = Callable[[Any], Awaitable[None]]


class StandbyGate:
    """Serve ``inner`` once ``leadership`` is active and ``open()`` was called; answer for
    a standby until then. Its own lifespan does nothing: ``relay serve`` starts and stops the
    inner app's lifespan when this process wins the election and when it stops."""

    def __init__(self, inner: ASGIApp, leadership: Leadership) -> None:
        self.inner = inner
        self.leadership = leadership
        self.opened = False

    def open(self) -> None:
        """The inner app has started: serve it from now on."""
        self.opened = True

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _trivial_lifespan(receive, send)
            return
        if self.opened and self.leadership.is_active and not self.leadership.lost.is_set():
            await self.inner(scope, receive, send)
            return
        status, headers, body = self.answer(scope)
        if kind == "http":
            await _respond(send, status, headers, body)
        elif kind == "websocket":
            await _deny_websocket(scope, receive, send, status, headers, body)

    def answer(self, scope: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The status, headers and body a standby gives for ``scope``."""
        http, path, method = scope["type"] == "http", scope.get("path"), scope.get("method")
        if http and path == "/api/cluster" and method == "OPTIONS":
            return self._preflight(scope)
        status, headers, body = self._answer(scope)
        if http and path in CORS_PATHS and method in ("GET", "HEAD"):
            origin = _header(scope, b"origin")
            cors = read_headers(origin, member_origins(self.leadership))
            headers = [*headers, *((k.lower().encode(), v.encode()) for k, v in cors)]
        return status, headers, body

    def _preflight(self, scope: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        status, cors, error = preflight(
            _header(scope, b"origin"),
            _header(scope, b"access-control-request-method"),
            _header(scope, b"access-control-request-headers"),
            member_origins(self.leadership),
        )
        headers = [(k.lower().encode(), v.encode()) for k, v in cors]
        if error is None:
            return status, headers, b""
        code, json_headers, body = _json(status, {"error": error})
        return code, [*json_headers, *headers], body

    def _answer(self, scope: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        me = self.leadership
        path: str = scope.get("path", "/")
        if scope["type"] == "http":
            if path == "/healthz":
                return _json(200, {"ok": True})
            if path == "/readyz":
                status = "starting" if me.role == "starting" else "standby"
                return _json(
                    503,
                    {"status": status, "active": me.active_url(), "epoch": me.epoch},
                    retry_after=True,
                )
            if path == "/api/cluster":
                return _json(200, cluster_body(me))
            if path == "/metrics":
                accept = _header(scope, b"accept")
                text, media = leadership_text(me, accept)
                return 200, [(b"content-type", media.encode())], text
        if me.lost.is_set():
            return _json(
                503, {"error": "this relay lost leadership and is stopping"}, retry_after=True
            )
        if me.role == "starting":
            return _json(
                503, {"error": "this relay is starting as the active one"}, retry_after=True
            )
        active = me.active_url()
        if active is None or active == me.self_url:
            return _json(503, {"error": "no active relay"}, retry_after=True)
        target = redirect_target(active, scope)
        if target is None:
            return _json(400, {"error": "the request target must be a path starting with /"})
        code, headers, body = _json(
            307, {"error": f"this relay is a standby; the active one is {active}", "active": active}
        )
        return code, [*headers, (b"location", target.encode())], body


def _json(
    status: int, body: dict[str, Any], *, retry_after: bool = False
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [(b"content-type", b"application/json")]
    if retry_after:
        headers.append((b"retry-after", b"1"))
    return status, headers, json.dumps(body).encode()


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def redirect_target(active: str, scope: Any) -> str | None:
    """The active's URL with this request's path and query; None for a request target that
    is not a path (``@evil.example/x`` appended to ``http://host:port`` would name another
    host as userinfo@host), which is answered 400 rather than redirected anywhere."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope.get("path", "/")
    if not path.startswith("/"):
        return None
    base = urllib.parse.urlsplit(active)
    query = scope.get("query_string", b"").decode("latin-1")
    target: str = urllib.parse.urlunsplit(
        (base.scheme, base.netloc, base.path.rstrip("/") + path, query, "")
    )
    return target


async def _respond(
    send: ASGISendCallable, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _deny_websocket(
    scope: Any,
    receive: ASGIReceiveCallable,
    send: ASGISendCallable,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> None:
    """Refuse the handshake with the HTTP answer itself (the ASGI denial-response
    extension, which hypercorn supports), so a client sees 307 + Location; a server without
    it gets a plain close (HTTP 403)."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1013})
        return
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body, "more_body": False})


async def _trivial_lifespan(receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
