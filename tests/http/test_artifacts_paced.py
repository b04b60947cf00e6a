"""A streamed upload is paced by its reader (relay.http.asgi.PacedBody): a client faster
than the server holds at most about HIGH_WATER bytes of the body in the server's memory,
found by bench/tasks.py (a 25 MiB upload grew the server's peak RSS by more than 25 MB)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from relay.http import artifacts as artifact_routes
from relay.http.asgi import HIGH_WATER, PacedBody
from tests.http.helpers import H

CHUNK = 64 * 1024
# The test client's channel to the app and quart's own reader each hold a few messages.
QUEUED_MESSAGES = 12


def content(chunks: int) -> list[bytes]:
    return [bytes([i % 251]) * CHUNK for i in range(chunks)]


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> trio.Event:
    """The upload route's reader waits for this event before it reads a byte."""
    opened = trio.Event()
    original = artifact_routes._body_chunks

    async def slow(max_bytes: int) -> AsyncIterator[bytes]:
        await opened.wait()
        body = original(max_bytes)
        assert isinstance(body, AsyncGenerator)  # an async generator's: it has aclose()
        async with contextlib.aclosing(body) as chunks:
            async for chunk in chunks:
                yield chunk

    monkeypatch.setattr(artifact_routes, "_body_chunks", slow)
    return opened


async def test_a_reader_that_waits_pauses_the_client(open_app: Any, gate: trio.Event) -> None:
    parts = content(4 * HIGH_WATER // CHUNK)
    sent = 0
    async with open_app(artifact_max_bytes=8 * HIGH_WATER) as app:
        client = app.test_client()
        async with client.request(
            "/api/artifacts", method="POST", query_string={"name": "big.bin"}, headers=H
        ) as connection:

            async def send_all() -> None:
                nonlocal sent
                for part in parts:
                    await connection.send(part)
                    sent += 1
                await connection.send_complete()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(send_all)
                await trio.testing.wait_all_tasks_blocked()
                paused_at = sent
                gate.set()
            response = await connection.as_response()
        assert paused_at * CHUNK <= HIGH_WATER + QUEUED_MESSAGES * CHUNK
        assert paused_at < len(parts)
        assert response.status_code == 201, await response.get_data()
        artifact = (await response.get_json())["artifact"]
        assert artifact["size"] == len(parts) * CHUNK
        assert artifact["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()


async def test_a_refused_upload_does_not_wait_for_its_reader(
    open_app: Any, gate: trio.Event
) -> None:
    """The handler ends (413) without reading the rest: the client gets its answer while
    it is still sending (it stops then, as an HTTP client does on an early response)."""
    gate.set()
    # Far more than the limit plus what the buffer and the queues hold.
    parts = content(16 * HIGH_WATER // CHUNK)
    sent = 0
    async with open_app(artifact_max_bytes=2 * HIGH_WATER) as app:
        client = app.test_client()
        async with client.request(
            "/api/artifacts", method="POST", query_string={"name": "big.bin"}, headers=H
        ) as connection:

            async def send_all() -> None:
                nonlocal sent
                for part in parts:
                    await connection.send(part)
                    sent += 1
                await connection.send_complete()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(send_all)
                with trio.fail_after(30):
                    response = await connection.as_response()
                nursery.cancel_scope.cancel()
        assert sent < len(parts)  # answered before the whole body was sent
        assert response.status_code == 413
        assert (await response.get_json())["error"] == (
            f"artifact too large (max {2 * HIGH_WATER} bytes)"
        )


async def test_paced_body_waits_until_the_reader_takes_the_buffer() -> None:
    body = PacedBody(None, None, high_water=4)
    body.append(b"abcd")
    waited = False

    async def writer() -> None:
        nonlocal waited
        await body.wait_for_room()
        waited = True

    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer)
        await trio.testing.wait_all_tasks_blocked()
        assert not waited
        assert await body.__anext__() == b"abcd"
    assert waited


async def test_paced_body_released_takes_without_waiting() -> None:
    body = PacedBody(None, None, high_water=4)
    body.append(b"abcdef")
    body.release()
    with trio.fail_after(1):
        await body.wait_for_room()
