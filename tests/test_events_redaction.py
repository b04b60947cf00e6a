"""A guard that redacts (``RedactingGuard``): the events it admits reach its filter's
subscribers as it shows them, live and on replay, one frame encoded per filter and shared
by its group; every other filter is handed the stored frames, and pays for no redaction."""

from __future__ import annotations

from dataclasses import dataclass, replace

import trio
import trio.testing

from relay.events import Batch, StreamEvent, StreamFilter, encode_frame
from tests.test_events import stored
from tests.test_events_fan_out import batching_hub, commit


@dataclass(frozen=True)
class HidingOdd:
    """Admits every event and hides the number of an odd one."""

    def admits(self, event: StreamEvent) -> bool:
        return True

    def redact(self, event: StreamEvent) -> StreamEvent:
        return replace(event, data={"n": "hidden"}) if event.id % 2 else event


@dataclass(frozen=True)
class AdmittingAll:
    def admits(self, event: StreamEvent) -> bool:
        return True


def hidden(event_id: int) -> StreamEvent:
    return replace(stored(event_id), data={"n": "hidden"})


async def test_a_redacting_filters_group_shares_one_redacted_batch(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub, store = batching_hub()
    with (
        hub.subscribe(StreamFilter(guard=HidingOdd()), buffer=100) as first,
        hub.subscribe(StreamFilter(guard=HidingOdd()), buffer=100) as second,
        hub.subscribe(StreamFilter(), buffer=100) as whole,
    ):
        commit(hub, store, 1, 3)
        [one] = await first.receive_chunks(256)
        [other] = await second.receive_chunks(256)
        [stored_batch] = await whole.receive_chunks(256)
    assert isinstance(one, Batch)
    assert isinstance(stored_batch, Batch)
    assert one is other  # redacted and encoded once for the group
    assert [d.event for d in one.deliveries] == [hidden(1), stored(2), hidden(3)]
    assert one.chunk == b"".join(encode_frame(e) for e in (hidden(1), stored(2), hidden(3)))
    # An event the guard leaves as it is keeps the frame encoded once for every filter.
    assert one.deliveries[1] is stored_batch.deliveries[1]
    assert stored_batch.chunk == b"".join(encode_frame(stored(n)) for n in (1, 2, 3))


def test_the_replay_shows_the_events_redacted_too() -> None:
    events = [stored(1), stored(2)]
    assert StreamFilter(guard=HidingOdd()).shown(events) == [hidden(1), stored(2)]
    assert StreamFilter().shown(events) == events


def test_only_a_redacting_guard_gives_its_filter_a_redaction() -> None:
    assert StreamFilter().redaction is None
    assert StreamFilter(guard=AdmittingAll()).redaction is None
    assert StreamFilter(guard=HidingOdd()).redaction is not None
    # Filters with equal guards are one group's key.
    assert StreamFilter(guard=HidingOdd()) == StreamFilter(guard=HidingOdd())
