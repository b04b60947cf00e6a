"""The event hub without HTTP: publish order, fan-out, slow subscribers, filters, frames."""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import pytest
import trio
import trio.testing

from relay.errors import Conflict, Unavailable
from relay.events import EventHub, StreamEvent, StreamFilter, encode_frame
from relay.http.events import OPENING, stream_frames


class FakeStore:
    """A stand-in for the store's writer: the test decides when each append commits."""

    def __init__(self) -> None:
        self.writes: list[concurrent.futures.Future[Any]] = []

    def submit_write(self, _job: Callable[[], Awaitable[Any]]) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.writes.append(future)
        return future


def stored(event_id: int, event: str = "activity", **fields: Any) -> StreamEvent:
    return StreamEvent(
        id=event_id,
        event=event,
        data={"n": event_id},
        view=fields.get("view"),
        agent_id=fields.get("agent_id"),
        created_at=0,
    )


def started_hub() -> tuple[EventHub, FakeStore]:
    hub = EventHub()
    store = FakeStore()
    hub.start(store, trio.lowlevel.current_trio_token())  # type: ignore[arg-type]
    return hub, store


async def received_ids(subscription: Any, count: int) -> list[int]:
    ids: list[int] = []
    with trio.fail_after(5):
        while len(ids) < count:
            ids += [delivery.event.id for delivery in await subscription.receive(100)]
    return ids


async def test_commits_fan_out_in_publish_order_even_when_completed_out_of_order() -> None:
    hub, store = started_hub()
    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.publish("activity", {})
        hub.publish("activity", {})
        first, second = store.writes
        second.set_result(stored(2))  # its callback must wait for the first
        first.set_result(stored(1))
        assert await received_ids(subscription, 2) == [1, 2]


async def test_a_failed_append_does_not_hold_back_the_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub, store = started_hub()
    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.publish("activity", {})
        hub.publish("activity", {})
        store.writes[0].set_exception(RuntimeError("disk full"))
        store.writes[1].set_result(stored(7))
        assert await received_ids(subscription, 1) == [7]
    assert any("event_store_failed" in r.getMessage() for r in caplog.records)


async def test_events_written_with_a_change_keep_their_place_in_the_order() -> None:
    hub, store = started_hub()
    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.publish("activity", {})
        change = hub.write_with_events(store.submit_write, _no_job)
        hub.publish("activity", {})
        first, together, last = store.writes
        last.set_result(stored(4))
        together.set_result(("changed", [stored(2), stored(3)]))  # one commit, two events
        first.set_result(stored(1))

        assert await received_ids(subscription, 4) == [1, 2, 3, 4]
        assert change.result() == ("changed", [stored(2), stored(3)])


async def test_a_change_already_committed_when_queued_is_fanned_out() -> None:
    hub, _store = started_hub()

    def committed(_job: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_result((None, [stored(9)]))  # its callback runs at once, under the lock
        return future

    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.write_with_events(committed, _no_job)
        assert await received_ids(subscription, 1) == [9]


async def test_a_failed_change_publishes_none_of_its_events(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub, store = started_hub()
    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.write_with_events(store.submit_write, _no_job)
        hub.publish("activity", {})
        store.writes[0].set_exception(RuntimeError("rolled back"))
        store.writes[1].set_result(stored(5))
        assert await received_ids(subscription, 1) == [5]
    assert any("event_store_failed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("error", "level"),
    [
        (Conflict("name taken"), logging.DEBUG),  # the request got its 409
        (Unavailable("store unavailable"), logging.WARNING),  # its 503
        (RuntimeError("rolled back"), logging.ERROR),  # nobody was told why
    ],
)
async def test_a_dropped_change_is_logged_at_the_level_of_its_cause(
    caplog: pytest.LogCaptureFixture, error: Exception, level: int
) -> None:
    caplog.set_level(logging.DEBUG, logger="relay.events")
    hub, store = started_hub()
    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.write_with_events(store.submit_write, _no_job)
        hub.publish("activity", {})
        store.writes[0].set_exception(error)
        store.writes[1].set_result(stored(5))
        assert await received_ids(subscription, 1) == [5]
    dropped = [r for r in caplog.records if repr(error) in r.getMessage()]
    assert [r.levelno for r in dropped] == [level]


async def _no_job() -> tuple[None, list[StreamEvent]]:
    raise AssertionError("the fake store never runs jobs")


async def test_slow_subscriber_is_dropped_and_others_keep_receiving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="relay.events")
    hub, store = started_hub()
    with (
        hub.subscribe(StreamFilter(), buffer=2) as slow,
        hub.subscribe(StreamFilter(), buffer=10) as fast,
    ):
        for n in range(1, 4):
            hub.publish("activity", {})
            store.writes[-1].set_result(stored(n))
        assert await received_ids(fast, 3) == [1, 2, 3]
        assert hub.client_count == 1
        assert hub.stats.dropped == 1
        assert await received_ids(slow, 2) == [1, 2]  # what it had buffered, then the end
        with pytest.raises(trio.EndOfChannel):
            await slow.receive(10)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["sse_client_dropped reason=slow buffered=2"]


async def test_subscriber_gets_only_what_passes_its_filter() -> None:
    hub, store = started_hub()
    with hub.subscribe(StreamFilter(agent_id="a1"), buffer=10) as subscription:
        for n, agent in enumerate(["a2", None, "a1"], start=1):
            hub.publish("activity", {}, agent_id=agent)
            store.writes[-1].set_result(stored(n, agent_id=agent))
        assert await received_ids(subscription, 1) == [3]


async def test_stop_ends_every_subscription() -> None:
    hub, _ = started_hub()
    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.stop()
        with pytest.raises(trio.EndOfChannel):
            await subscription.receive(10)
    assert hub.client_count == 0


async def test_ending_streams_ends_subscriptions_but_events_are_still_stored() -> None:
    hub, store = started_hub()
    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.end_streams()
        with pytest.raises(trio.EndOfChannel):
            await subscription.receive(10)
    # A subscription taken afterwards is refused: it ends at once.
    with hub.subscribe(StreamFilter(), buffer=10) as late, pytest.raises(trio.EndOfChannel):
        await late.receive(10)
    assert hub.client_count == 0
    hub.publish("activity", {"title": "while stopping"})
    assert len(store.writes) == 1  # the audit stream still gets it


def test_publish_before_start_is_dropped_quietly() -> None:
    EventHub().publish("activity", {"title": "early"})


def test_unknown_event_name_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    EventHub().publish("nonsense", {})
    assert [r.getMessage() for r in caplog.records] == [
        "event_rejected reason=unknown-event event=nonsense"
    ]


async def test_publish_never_raises_into_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenStore:
        def submit_write(self, _job: Any) -> Any:
            raise OSError("boom")

    hub = EventHub()
    hub.start(BrokenStore(), trio.lowlevel.current_trio_token())  # type: ignore[arg-type]
    hub.publish("activity", {})
    assert any("event_publish_failed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("stream_filter", "view", "agent_id", "passes"),
    [
        (StreamFilter(), None, None, True),
        (StreamFilter(view="ops"), "ops", "a1", True),
        (StreamFilter(view="ops"), "security", None, False),
        (StreamFilter(view="ops"), None, None, False),
        (StreamFilter(agent_id="a1"), "ops", "a1", True),
        (StreamFilter(agent_id="a1"), None, "a2", False),
        (StreamFilter(agent_id="a1"), None, None, False),
        (StreamFilter(view="ops", agent_id="a1"), "ops", "a2", False),
        (StreamFilter(agents=frozenset({"a1", "a2"})), None, "a2", True),
        (StreamFilter(agents=frozenset({"a1"})), None, None, False),
        (StreamFilter(agents=frozenset({"a1"})), None, "a3", False),
    ],
)
def test_filter(
    stream_filter: StreamFilter, view: str | None, agent_id: str | None, passes: bool
) -> None:
    assert stream_filter.passes(stored(1, view=view, agent_id=agent_id)) is passes


def test_frame_is_id_event_and_one_line_of_json() -> None:
    event = StreamEvent(
        id=42,
        event="config-changed",
        data={"key": "a\nb", "n": "é"},
        view=None,
        agent_id=None,
        created_at=0,
    )
    assert encode_frame(event) == (
        'id: 42\nevent: config-changed\ndata: {"key":"a\\nb","n":"é"}\n\n'.encode()
    )


async def test_a_burst_shares_one_write(autojump_clock: trio.testing.MockClock) -> None:
    hub = EventHub()
    store = FakeStore()
    hub.start(store, trio.lowlevel.current_trio_token(), batch_window=1.0)  # type: ignore[arg-type]
    frames = stream_frames(
        hub,
        store,  # type: ignore[arg-type]  # no replay: the store is never read
        StreamFilter(),
        last_event_id=None,
        keepalive_seconds=60,
        buffer=10,
    )
    assert await anext(frames) == OPENING
    chunks: list[bytes] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(lambda: _append_next(frames, chunks))
        for n, delay in [(1, 0), (2, 0.5), (3, 0.4)]:  # all within a second of the first
            await trio.sleep(delay)
            hub.publish("activity", {})
            store.writes[-1].set_result(stored(n))
    await frames.aclose()
    assert chunks == [b"".join(encode_frame(stored(n)) for n in (1, 2, 3))]


async def _append_next(frames: AsyncGenerator[bytes, None], chunks: list[bytes]) -> None:
    chunks.append(await anext(frames))


async def test_a_new_client_starts_after_what_was_committed_before_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = EventHub()
    store = FakeStore()
    hub.start(store, trio.lowlevel.current_trio_token(), batch_window=1.0)  # type: ignore[arg-type]
    hub.publish("activity", {})
    store.writes[-1].set_result(stored(1))  # committed, still held back by the window
    await trio.sleep(0.1)
    frames = stream_frames(
        hub,
        store,  # type: ignore[arg-type]
        StreamFilter(),
        last_event_id=None,
        keepalive_seconds=60,
        buffer=10,
    )
    assert await anext(frames) == OPENING
    hub.publish("activity", {})
    store.writes[-1].set_result(stored(2))
    chunk = await anext(frames)
    await frames.aclose()
    assert chunk == encode_frame(stored(2))


@pytest.mark.parametrize(
    ("data", "sent"),
    [
        pytest.param({"k": "\ud800"}, '{"k":"?"}', id="lone-surrogate"),
        pytest.param({"k": float("nan"), "j": [float("inf")]}, '{"k":null,"j":[null]}', id="nan"),
    ],
)
def test_a_frame_of_data_strict_json_cannot_carry_is_repaired_not_raised(
    data: dict[str, Any], sent: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Such data can only be in a log written before the decoder refused it (issue 16):
    # the frame is still one line of valid JSON, so a replay can pass over it.
    event = StreamEvent(id=7, event="agent", data=data, view=None, agent_id=None, created_at=0)
    frame = encode_frame(event)
    assert frame == f"id: 7\nevent: agent\ndata: {sent}\n\n".encode()
    assert [r.getMessage().split(" error=")[0] for r in caplog.records] == [
        "sse_frame_repaired event_id=7 event=agent"
    ]


async def test_a_client_whose_delivery_fails_is_dropped_and_the_rest_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub, store = started_hub()

    class Exploding(StreamFilter):
        def passes(self, event: StreamEvent) -> bool:
            if event.id == 2:
                raise RuntimeError("boom")
            return True

    with (
        hub.subscribe(Exploding(), buffer=10) as failing,
        hub.subscribe(StreamFilter(), buffer=10) as healthy,
    ):
        for n in range(1, 4):
            hub.publish("activity", {})
            store.writes[-1].set_result(stored(n))
        assert await received_ids(healthy, 3) == [1, 2, 3]
        assert await received_ids(failing, 1) == [1]  # what it had, then its end
        with pytest.raises(trio.EndOfChannel):
            await failing.receive(10)
    messages = [r.getMessage() for r in caplog.records]
    assert "sse_client_failed event_id=2" in messages
    assert "sse_client_dropped reason=error buffered=1" in messages
