"""Event-stream tests' client side: open ``/api/events``, read its frames, post activity."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import trio
from quart.testing import make_test_headers_path_and_query_string, make_test_scope
from quart.utils import decode_headers
from werkzeug.datastructures import Headers

from tests.conftest import root_headers

# A guard against a hung test, not a wait for something to happen.
READ_TIMEOUT = 10


@dataclass(frozen=True)
class Frame:
    """One SSE block: an event (``id``/``event``/``data``) or only comments."""

    id: int | None
    event: str | None
    data: Any
    comments: tuple[str, ...]


def parse_block(block: str) -> Frame:
    fields: dict[str, str] = {}
    comments: list[str] = []
    for line in block.split("\n"):
        if line.startswith(":"):
            comments.append(line[1:].strip())
        elif line:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
    raw_id = fields.get("id")
    raw_data = fields.get("data")
    return Frame(
        id=int(raw_id) if raw_id is not None else None,
        event=fields.get("event"),
        data=json.loads(raw_data) if raw_data is not None else None,
        comments=tuple(comments),
    )


class EventStream:
    """Frames of one open ``/api/events`` response, in the order they were sent."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._pending = b""
        self.ended = False

    async def next_frame(self) -> Frame:
        """The next block, comments included. Raises ``trio.EndOfChannel`` at the end."""
        with trio.fail_after(READ_TIMEOUT):
            while b"\n\n" not in self._pending:
                try:
                    chunk = await self.connection.receive()
                except trio.EndOfChannel:
                    self.ended = True
                    raise
                self._pending += chunk
        block, self._pending = self._pending.split(b"\n\n", 1)
        return parse_block(block.decode())

    async def next_event(self) -> Frame:
        """The next frame that carries an event (comment-only blocks are skipped)."""
        while True:
            frame = await self.next_frame()
            if frame.id is not None:
                return frame

    async def events(self, count: int) -> list[Frame]:
        return [await self.next_event() for _ in range(count)]


async def until_end(client: Any, stream: EventStream) -> list[Frame]:
    """Posts an activity row titled "end" (one every caller of these tests may see); the
    frames the stream sends up to it."""
    await post_activity(client, "end")
    live: list[Frame] = []
    while not live or live[-1].data.get("title") != "end":
        live.append(await stream.next_event())
    return live


async def post_activity(client: Any, title: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/activity", json={"title": title, **fields}, headers=root_headers()
    )
    assert response.status_code == 201, await response.get_data()
    event: dict[str, Any] = await response.get_json()
    return event


class _Connection:
    """One streaming request run straight against the ASGI app.

    Quart's test connection waits, on exit, for the response body to end, which an
    event stream never does when the client hangs up; this one owns its nursery.
    Its receive buffer is small, like a socket's: a client that stops reading stalls
    the server's writes to it.
    """

    def __init__(self, app: Any, path: str, headers: Any, query: dict[str, str] | None) -> None:
        headers, path, query_bytes = make_test_headers_path_and_query_string(
            app, path, headers, query
        )
        self.scope = make_test_scope(
            "http", path, "GET", headers, query_bytes, "http", "", "1.1", None
        )
        self.app = app
        self.status_code: int | None = None
        self.headers: Headers | None = None
        self._to_app, self._app_inbox = trio.open_memory_channel[dict[str, Any]](10)
        self._body_out, self._body_in = trio.open_memory_channel[bytes](10)

    async def run(self) -> None:
        async with self._body_out:
            await self.app(self.scope, self._app_inbox.receive, self._from_app)

    async def _from_app(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status_code = message["status"]
            self.headers = decode_headers(message["headers"])
        elif message["type"] == "http.response.body":
            if message["body"]:
                await self._body_out.send(message["body"])
            if not message.get("more_body", False):
                await self._body_out.aclose()

    async def receive(self) -> bytes:
        """The next chunk of the body; ``trio.EndOfChannel`` once the response ended."""
        try:
            return await self._body_in.receive()
        except trio.ClosedResourceError:
            raise trio.EndOfChannel from None

    async def disconnect(self) -> None:
        await self._to_app.send({"type": "http.disconnect"})


@asynccontextmanager
async def open_stream(
    client: Any,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[EventStream]:
    """``GET /api/events`` held open; yields once the server has subscribed the client."""
    connection = _Connection(
        client.app, "/api/events", root_headers() if headers is None else headers, query
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(connection.run)
        stream = EventStream(connection)
        try:
            opening = await stream.next_frame()  # sent right after subscribing
            assert "connected" in opening.comments
            yield stream
        finally:
            await connection.disconnect()
