"""A stream ends with ``signed-out`` when its token is revoked or expires (the hub and the
SSE body, on trio's mock clock with a wall clock that follows it)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import trio
import trio.lowlevel
import trio.testing

from relay.events import EventHub, StreamCredential, StreamFilter
from relay.http.events import KEEP_ALIVE, OPENING, stream_frames
from tests.test_events import FakeStore, stored

REVOKED = b'event: signed-out\ndata: {"reason":"token revoked"}\n\n'
EXPIRED = b'event: signed-out\ndata: {"reason":"token expired"}\n\n'
KEEPALIVE_SECONDS = 15


class TrioWallClock:
    """Wall-clock milliseconds that move with trio's (mock) clock."""

    def now_ms(self) -> int:
        return int(trio.current_time() * 1000)


def started_hub() -> tuple[EventHub, FakeStore]:
    hub = EventHub()
    store = FakeStore()
    hub.start(store, trio.lowlevel.current_trio_token())  # type: ignore[arg-type]
    return hub, store


def frames_of(
    hub: EventHub,
    store: FakeStore,
    credential: StreamCredential | None,
    revoked: frozenset[str] = frozenset(),
) -> AsyncGenerator[bytes, None]:
    return stream_frames(
        hub,
        store,  # type: ignore[arg-type]  # no replay: the store is never read
        StreamFilter(),
        last_event_id=None,
        keepalive_seconds=KEEPALIVE_SECONDS,
        buffer=10,
        credential=credential,
        clock=TrioWallClock(),
        is_revoked=lambda jti: jti in revoked,
    )


async def rest(frames: AsyncGenerator[bytes, None]) -> list[tuple[float, bytes]]:
    """Every frame until the stream ends, with the trio time it came at."""
    return [(trio.current_time(), chunk) async for chunk in frames]


async def test_a_stream_ends_at_its_tokens_exp(autojump_clock: trio.testing.MockClock) -> None:
    hub, store = started_hub()
    expires_at = trio.current_time() + 100
    frames = frames_of(hub, store, StreamCredential("j1", int(expires_at * 1000)))
    assert await anext(frames) == OPENING
    sent = await rest(frames)
    assert [chunk for _at, chunk in sent] == [KEEP_ALIVE] * 6 + [EXPIRED]
    assert sent[-1][0] == expires_at  # at exp, not at the next keep-alive
    assert hub.client_count == 0


async def test_a_revoked_token_ends_its_stream_after_what_it_had_buffered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, store = started_hub()
    frames = frames_of(hub, store, StreamCredential("j1", 10**15))
    other = frames_of(hub, store, StreamCredential("j2", 10**15))
    assert await anext(frames) == OPENING
    assert await anext(other) == OPENING
    hub.publish("activity", {})
    store.writes[-1].set_result(stored(1))
    await trio.lowlevel.checkpoint()  # the commit reaches the hub
    hub.token_revoked("j1")
    started = trio.current_time()
    sent = await rest(frames)
    assert [chunk for _at, chunk in sent] == [b'id: 1\nevent: activity\ndata: {"n":1}\n\n', REVOKED]
    assert sent[-1][0] == started  # at once
    # The other token's stream goes on.
    hub.publish("activity", {})
    store.writes[-1].set_result(stored(2))
    received = b""
    while received.count(b"id: ") < 2:
        received += await anext(other)
    assert received == (
        b'id: 1\nevent: activity\ndata: {"n":1}\n\nid: 2\nevent: activity\ndata: {"n":2}\n\n'
    )
    await other.aclose()


async def test_a_token_revoked_before_its_stream_subscribed_ends_it_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, store = started_hub()
    frames = frames_of(hub, store, StreamCredential("j1", 10**15), revoked=frozenset({"j1"}))
    assert await anext(frames) == OPENING
    assert [chunk for _at, chunk in await rest(frames)] == [REVOKED]


async def test_a_stream_without_a_token_never_ends_this_way(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, store = started_hub()
    frames = frames_of(hub, store, None)
    assert await anext(frames) == OPENING
    hub.token_revoked("anything")
    for _ in range(100):  # 25 minutes of silence
        assert await anext(frames) == KEEP_ALIVE
    await frames.aclose()


async def test_watchers_are_forgotten_when_their_stream_ends(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, store = started_hub()
    frames = frames_of(hub, store, StreamCredential("j1", int(trio.current_time() * 1000) + 1000))
    assert await anext(frames) == OPENING
    assert [chunk for _at, chunk in await rest(frames)] == [EXPIRED]
    assert hub._watchers == {}
