"""Presence frames from the hub, on trio's mock clock: coalesced into one frame per
window per stream, filtered like the stream's events, encoded once per filter, no id."""

from __future__ import annotations

import itertools
import json
from typing import Any

import trio
import trio.testing

from relay.events import Delivery, Ephemeral, EventHub, StreamFilter, Subscription
from tests.test_events import FakeStore

FLEET = 2_000
BEAT_SECONDS = 10.0


def started_hub() -> EventHub:
    hub = EventHub()
    hub.start(FakeStore(), trio.lowlevel.current_trio_token())  # type: ignore[arg-type]
    return hub


def decoded(item: Delivery | Ephemeral) -> tuple[str, dict[str, Any]]:
    assert isinstance(item, Ephemeral)
    lines = item.frame.decode().strip("\n").split("\n")
    assert not any(line.startswith("id:") for line in lines)  # never moves Last-Event-ID
    fields = dict(line.split(": ", 1) for line in lines)
    return fields["event"], json.loads(fields["data"])


class Recorder:
    """What one subscription received, and when (trio time)."""

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.frames: list[tuple[float, Ephemeral]] = []

    async def run(self) -> None:
        try:
            while True:
                for item in await self.subscription.receive(100):
                    assert isinstance(item, Ephemeral)
                    self.frames.append((trio.current_time(), item))
        except trio.EndOfChannel:
            return

    def payloads(self) -> list[dict[str, Any]]:
        return [decoded(frame)[1] for _at, frame in self.frames]


async def beat_fleet(hub: EventHub, seconds: float) -> None:
    """Every agent beats every ``BEAT_SECONDS``, the fleet spread evenly over that period."""
    step = BEAT_SECONDS / FLEET
    start = trio.current_time()
    n = 0
    while trio.current_time() - start < seconds:
        hub.presence.agent_seen(f"a{n % FLEET}", int(trio.current_time() * 1000))
        n += 1
        await trio.sleep(step)


async def test_a_beating_fleet_costs_each_stream_at_most_a_frame_a_second(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = started_hub()
    seconds = 30.0
    with (
        hub.subscribe(StreamFilter(), buffer=100) as first,
        hub.subscribe(StreamFilter(), buffer=100) as second,
        hub.subscribe(StreamFilter(agents=frozenset({"a1", "a7"})), buffer=100) as mine,
        hub.subscribe(StreamFilter(agent_id="a3"), buffer=100) as one,
    ):
        recorders = [Recorder(s) for s in (first, second, mine, one)]
        async with trio.open_nursery() as nursery:
            for recorder in recorders:
                nursery.start_soon(recorder.run)
            await beat_fleet(hub, seconds)
            hub.presence.orchestrator_seen("o1", 1)
            await trio.sleep(2)  # the last window closes
            nursery.cancel_scope.cancel()

    for recorder in recorders:
        times = [at for at, _frame in recorder.frames]
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
        assert len(times) <= seconds + 2
    # ~200 beats a second: every window carries some, so one frame each second.
    assert len(recorders[0].frames) >= seconds - 1
    # Every agent's beat reached the unfiltered streams, each id at most once a window.
    everyone = recorders[0].payloads()
    assert {a for payload in everyone for a in payload["agents"]} == {f"a{n}" for n in range(FLEET)}
    assert max(len(payload["agents"]) for payload in everyone) <= FLEET
    assert everyone[-1]["orchestrators"] == {"o1": 1}
    # Same filter, same bytes: encoded once per window.
    assert [f for _at, f in recorders[0].frames] == [f for _at, f in recorders[1].frames]
    assert all(
        a is b for (_x, a), (_y, b) in zip(recorders[0].frames, recorders[1].frames, strict=True)
    )
    # A constrained stream sees only its agents, and no orchestrators (as with events).
    constrained = recorders[2].payloads()
    assert len(constrained) >= seconds // BEAT_SECONDS  # each beats three times
    assert {a for payload in constrained for a in payload["agents"]} == {"a1", "a7"}
    assert all(payload["orchestrators"] == {} for payload in constrained)
    assert {a for payload in recorders[3].payloads() for a in payload["agents"]} == {"a3"}
    # At most one encoding per distinct filter per window.
    assert hub.stats.presence_encodings <= 3 * hub.stats.presence_windows


async def test_only_ids_that_moved_since_the_last_frame_are_sent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = started_hub()
    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.presence.agent_seen("a1", 1_000)
        hub.presence.agent_seen("a2", 1_000)
        hub.presence.agent_seen("a1", 1_500)  # moved twice in the window: the latest
        [first] = await subscription.receive(10)
        hub.presence.agent_seen("a2", 3_000)
        [second] = await subscription.receive(10)
    assert decoded(first) == (
        "presence",
        {"agents": {"a1": 1_500, "a2": 1_000}, "orchestrators": {}},
    )
    assert decoded(second) == ("presence", {"agents": {"a2": 3_000}, "orchestrators": {}})


async def test_nothing_is_sent_to_a_stream_its_filter_empties(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = started_hub()
    with (
        hub.subscribe(StreamFilter(agent_id="a9"), buffer=10) as other,
        hub.subscribe(StreamFilter(view="ops"), buffer=10) as ops,
        hub.subscribe(StreamFilter(), buffer=10) as everyone,
    ):
        hub.presence.agent_seen("a1", 1)
        assert len(await everyone.receive(10)) == 1
        await trio.sleep(5)
        assert other.drain(10) == []
        assert ops.drain(10) == []


async def test_a_view_filtered_stream_sees_orchestrator_presence_on_their_view(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = started_hub()
    with hub.subscribe(StreamFilter(view="orchestrators"), buffer=10) as subscription:
        hub.presence.agent_seen("a1", 1)
        hub.presence.orchestrator_seen("o1", 2)
        [frame] = await subscription.receive(10)
    assert decoded(frame) == ("presence", {"agents": {}, "orchestrators": {"o1": 2}})


async def test_a_full_buffer_skips_a_window_instead_of_dropping_the_client(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = started_hub()
    with hub.subscribe(StreamFilter(), buffer=1) as subscription:
        hub.presence.agent_seen("a1", 1)
        await trio.sleep(1.5)
        hub.presence.agent_seen("a1", 2)  # the buffer still holds the first window
        await trio.sleep(1.5)
        assert hub.client_count == 1
        assert hub.stats.presence_skipped == 1
        [frame] = subscription.drain(10)
    assert decoded(frame)[1]["agents"] == {"a1": 1}


async def test_beats_before_start_or_without_subscribers_cost_nothing_later(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = EventHub()
    hub.presence.agent_seen("early", 1)  # not started: forgotten at once
    hub.start(FakeStore(), trio.lowlevel.current_trio_token())  # type: ignore[arg-type]
    hub.presence.agent_seen("nobody-listens", 2)
    await trio.sleep(2)
    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.presence.agent_seen("a1", 3)
        [frame] = await subscription.receive(10)
    assert decoded(frame)[1]["agents"] == {"a1": 3}
    assert hub.stats.presence_windows == 1


async def test_a_window_queued_before_the_hub_stopped_opens_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A beat read the trio token, then the hub stopped (or the run began to end, when
    # spawning a task raises): the queued callback must not raise into trio.
    hub = started_hub()
    with hub.subscribe(StreamFilter(), buffer=10) as subscription:
        hub.presence.agent_seen("a1", 1)
        hub.stop()
        hub.presence._open_window()
        await trio.sleep(5)
        assert subscription.drain(10) == []
    assert hub.presence._scheduled is False


async def test_a_beat_after_the_hub_stopped_is_forgotten(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = started_hub()
    hub.presence.agent_seen("a1", 1)
    hub.stop()  # before the window opened
    await trio.sleep(5)
    assert hub.presence._scheduled is False
    assert hub.stats.presence_windows == 0
