"""Fan-out by batch (issue 23): one shared batch per filter per window, on trio's mock
clock; order, completeness, exact filters and slow clients as with one offer per event."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pytest
import trio
import trio.testing

from relay.events import (
    Batch,
    Delivery,
    Ephemeral,
    EventHub,
    StreamFilter,
    Subscription,
    encode_frame,
)
from relay.http.events import KEEP_ALIVE, OPENING, stream_frames
from tests.test_events import FakeStore, stored

WINDOW = 0.025


def event_ids(items: Sequence[Delivery | Ephemeral]) -> list[int]:
    """The ids of the events handed over (every one a committed event's ``Delivery``)."""
    ids: list[int] = []
    for item in items:
        assert isinstance(item, Delivery), item
        ids.append(item.event.id)
    return ids


def batching_hub(writes_per_second: float = 10_000) -> tuple[EventHub, FakeStore]:
    hub = EventHub()
    store = FakeStore()
    hub.start(
        store,  # type: ignore[arg-type]
        trio.lowlevel.current_trio_token(),
        batch_window=WINDOW,
        writes_per_second=writes_per_second,
    )
    return hub, store


def commit(hub: EventHub, store: FakeStore, first: int, last: int, **fields: str) -> None:
    for n in range(first, last + 1):
        hub.publish("activity", {}, agent_id=fields.get("agent_id"), view=fields.get("view"))
        store.writes[-1].set_result(stored(n, **fields))


async def test_a_window_reaches_every_client_as_one_shared_batch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, store = batching_hub()
    with (
        hub.subscribe(StreamFilter(), buffer=100) as first,
        hub.subscribe(StreamFilter(), buffer=100) as second,
    ):
        commit(hub, store, 1, 5)
        [one] = await first.receive_chunks(256)
        [other] = await second.receive_chunks(256)
    assert isinstance(one, Batch)
    assert one is other  # filtered, joined and handed over once for both
    assert [d.event.id for d in one.deliveries] == [1, 2, 3, 4, 5]
    assert one.chunk == b"".join(encode_frame(stored(n)) for n in range(1, 6))


async def test_filters_decide_once_per_group_and_stay_exact(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, store = batching_hub()
    with (
        hub.subscribe(StreamFilter(agent_id="a1"), buffer=100) as mine,
        hub.subscribe(StreamFilter(agent_id="a1"), buffer=100) as also_mine,
        hub.subscribe(StreamFilter(view="ops"), buffer=100) as ops,
        hub.subscribe(StreamFilter(agents=frozenset({"a2"})), buffer=100) as a2,
    ):
        commit(hub, store, 1, 1, agent_id="a1")
        commit(hub, store, 2, 2, agent_id="a2")
        commit(hub, store, 3, 3, view="ops")
        commit(hub, store, 4, 4, agent_id="a1")
        await trio.sleep(1)
        assert event_ids(mine.drain(10)) == [1, 4]
        assert event_ids(also_mine.drain(10)) == [1, 4]
        assert event_ids(ops.drain(10)) == [3]
        assert event_ids(a2.drain(10)) == [2]


async def test_many_clients_stretch_the_window_so_writes_stay_bounded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # 100 writes a second: 4 clients -> one window every 40 ms instead of 25 ms.
    hub, store = batching_hub(writes_per_second=100)
    with (
        hub.subscribe(StreamFilter(), buffer=100) as first,
        hub.subscribe(StreamFilter(), buffer=100),
    ):
        assert hub.window() == WINDOW  # 2 clients: 20 ms < 25 ms
        with (
            hub.subscribe(StreamFilter(), buffer=100),
            hub.subscribe(StreamFilter(), buffer=100),
        ):
            assert hub.window() == pytest.approx(0.04)
            start = trio.current_time()
            commit(hub, store, 1, 3)
            [batch] = await first.receive_chunks(256)
            assert trio.current_time() - start == pytest.approx(0.04)
            assert isinstance(batch, Batch)
            assert len(batch) == 3
        assert hub.window() == WINDOW


async def test_a_batch_that_does_not_fit_is_cut_and_the_client_dropped(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="relay.events")
    hub, store = batching_hub()
    with (
        hub.subscribe(StreamFilter(), buffer=3) as slow,
        hub.subscribe(StreamFilter(), buffer=100) as fast,
    ):
        commit(hub, store, 1, 5)  # one window of five events
        [batch] = await fast.receive_chunks(256)
        assert isinstance(batch, Batch)
        assert len(batch) == 5
        assert hub.client_count == 1
        # What fitted, in order, then the end: as if offered one event at a time.
        assert event_ids(await slow.receive(10)) == [1, 2, 3]
        with pytest.raises(trio.EndOfChannel):
            await slow.receive(10)
    assert [r.getMessage() for r in caplog.records] == ["sse_client_dropped reason=slow buffered=3"]


def test_receive_splits_a_batch_at_max_items_and_keeps_the_rest() -> None:
    subscription = Subscription(StreamFilter(), buffer=10, start_id=0)
    batch = Batch.of([Delivery(stored(n), encode_frame(stored(n))) for n in range(1, 6)])
    assert subscription.offer(batch)
    assert subscription.buffered == 5
    assert event_ids(subscription.drain(2)) == [1, 2]
    assert subscription.buffered == 3
    assert event_ids(subscription.drain(10)) == [3, 4, 5]
    assert subscription.buffered == 0


async def test_the_stream_skips_ids_of_a_batch_it_already_replayed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Subscribed before the replay: a live batch may overlap what the replay sent.
    hub, store = batching_hub()

    class Log:
        async def run(self, job: Any) -> object:
            name = getattr(job, "func", job).__name__
            return 3 if name == "last_id" else [stored(2), stored(3)]

    frames = stream_frames(
        hub,
        Log(),  # type: ignore[arg-type]
        StreamFilter(),
        last_event_id=1,
        keepalive_seconds=60,
        buffer=100,
    )
    assert await frames.__anext__() == OPENING
    replayed = await frames.__anext__()
    commit(hub, store, 2, 5)  # 2 and 3 arrive live too
    live = await frames.__anext__()
    await frames.aclose()
    assert replayed == encode_frame(stored(2)) + encode_frame(stored(3))
    assert live == encode_frame(stored(4)) + encode_frame(stored(5))


async def test_a_stream_sends_a_keep_alive_after_silence_not_between_batches(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, store = batching_hub()
    frames = stream_frames(
        hub,
        store,  # type: ignore[arg-type]  # no replay: the store is never read
        StreamFilter(),
        last_event_id=None,
        keepalive_seconds=10,
        buffer=100,
    )
    assert await frames.__anext__() == OPENING
    received: list[tuple[float, bytes]] = []

    async def read() -> None:
        async for chunk in frames:
            received.append((trio.current_time(), chunk))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        for n in range(1, 6):  # 4 s apart: each wait's deadline moves past the last one's
            commit(hub, store, n, n)
            await trio.sleep(4)
        await trio.sleep(15)
        nursery.cancel_scope.cancel()
    await frames.aclose()
    assert [chunk for _at, chunk in received] == [
        *(encode_frame(stored(n)) for n in range(1, 6)),
        KEEP_ALIVE,
    ]
    assert received[-1][0] - received[-2][0] == pytest.approx(10)


async def test_a_receive_cancelled_while_waiting_leaves_the_subscription_usable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, store = batching_hub()
    with hub.subscribe(StreamFilter(), buffer=100) as subscription:
        with trio.move_on_after(1):
            await subscription.receive_chunks(256)
        commit(hub, store, 1, 2)
        [batch] = await subscription.receive_chunks(256)
    assert isinstance(batch, Batch)
    assert [d.event.id for d in batch.deliveries] == [1, 2]


async def test_a_subscription_has_one_receiver_at_a_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, _store = batching_hub()
    with hub.subscribe(StreamFilter(), buffer=100) as subscription:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(subscription.receive_chunks, 256)
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(trio.BusyResourceError):
                await subscription.receive_chunks(256)
            nursery.cancel_scope.cancel()
