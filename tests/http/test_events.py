"""The live event stream (GET /api/events), black-box through the streaming test client."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio

from tests.conftest import root_headers
from tests.http.sse_client import EventStream, Frame, open_stream, post_activity

H = root_headers()


def titles(frames: list[Frame]) -> list[str]:
    return [frame.data["title"] for frame in frames]


def event_ids(frames: list[Frame]) -> list[int]:
    """The frames' SSE ids: each one an event's, so none is missing."""
    ids: list[int] = []
    for frame in frames:
        assert frame.id is not None, frame
        ids.append(frame.id)
    return ids


async def read_until_end(stream: EventStream) -> list[Frame]:
    frames: list[Frame] = []
    try:
        while True:
            frame = await stream.next_frame()
            if frame.id is not None:
                frames.append(frame)
    except trio.EndOfChannel:
        return frames


async def test_client_receives_an_event_published_after_it_connected(client: Any) -> None:
    async with open_stream(client) as stream:
        posted = await post_activity(client, "deploy started", view="ops")
        frame = await stream.next_event()
    assert frame.event == "activity"
    assert frame.data == posted
    assert frame.id is not None
    assert frame.id > 0


async def test_response_is_an_uncached_event_stream(client: Any) -> None:
    async with open_stream(client) as stream:
        headers = stream.connection.headers
        assert stream.connection.status_code == 200
    assert headers["Content-Type"].startswith("text/event-stream")
    assert headers["Cache-Control"] == "no-cache"


async def test_ids_increase_in_publish_order(client: Any) -> None:
    async with open_stream(client) as stream:
        for n in range(5):
            await post_activity(client, f"e{n}")
        frames = await stream.events(5)
    assert titles(frames) == [f"e{n}" for n in range(5)]
    ids = event_ids(frames)
    assert ids == sorted(ids)
    assert len(set(ids)) == 5


async def test_reconnect_replays_exactly_the_missed_events_then_goes_live(client: Any) -> None:
    async with open_stream(client) as stream:
        await post_activity(client, "seen-1")
        await post_activity(client, "seen-2")
        seen = await stream.events(2)
    for n in range(3):
        await post_activity(client, f"missed-{n}")

    last_id = str(seen[-1].id)
    async with open_stream(client, headers={**H, "Last-Event-ID": last_id}) as stream:
        replayed = await stream.events(3)
        await post_activity(client, "live")
        live = await stream.next_event()

    assert titles(replayed) == ["missed-0", "missed-1", "missed-2"]
    assert titles([live]) == ["live"]
    ids = event_ids([*seen, *replayed, live])
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


async def test_last_event_id_can_be_a_query_parameter(client: Any) -> None:
    async with open_stream(client) as stream:
        await post_activity(client, "marker")
        marker = await stream.next_event()
    await post_activity(client, "after")
    async with open_stream(client, {"lastEventId": str(marker.id)}) as stream:
        frame = await stream.next_event()
    assert frame.data["title"] == "after"


async def test_replay_spans_several_pages(client: Any) -> None:
    async with open_stream(client) as stream:
        await post_activity(client, "start")
        start = await stream.next_event()
    # More than one replay page (500 events).
    count = 520
    async with trio.open_nursery() as nursery:
        for n in range(count):
            nursery.start_soon(post_activity, client, f"bulk-{n}")
    async with open_stream(client, {"lastEventId": str(start.id)}) as stream:
        replayed = await stream.events(count)
    assert sorted(titles(replayed)) == sorted(f"bulk-{n}" for n in range(count))
    ids = event_ids(replayed)
    assert ids == sorted(ids)


async def test_last_event_id_newer_than_the_log_goes_live(client: Any) -> None:
    async with open_stream(client) as stream:
        await post_activity(client, "old")
        await stream.next_event()
    async with open_stream(client, headers={**H, "Last-Event-ID": "999999"}) as stream:
        await post_activity(client, "new")
        frame = await stream.next_event()
    assert frame.data["title"] == "new"


@pytest.mark.parametrize("value", ["abc", "-1", "1.5"])
async def test_malformed_last_event_id_is_400(client: Any, value: str) -> None:
    response = await client.get("/api/events", headers={**H, "Last-Event-ID": value})
    assert response.status_code == 400
    assert await response.get_json() == {"error": "Last-Event-ID must be an integer"}


async def test_view_filter_keeps_only_that_view(client: Any) -> None:
    async with open_stream(client, {"view": "security"}) as stream:
        await post_activity(client, "ops", view="ops")
        await post_activity(client, "no view")
        await post_activity(client, "token issued", view="security")
        frame = await stream.next_event()
    assert frame.data["title"] == "token issued"


async def test_agent_filter_keeps_only_that_agent(client: Any) -> None:
    async with open_stream(client, {"agentId": "a1"}) as stream:
        await post_activity(client, "other agent", agentId="a2")
        await post_activity(client, "no agent")
        await post_activity(client, "mine", agentId="a1")
        frame = await stream.next_event()
    assert frame.data["title"] == "mine"


async def test_view_and_agent_filters_combine(client: Any) -> None:
    async with open_stream(client, {"view": "ops", "agentId": "a1"}) as stream:
        await post_activity(client, "wrong view", agentId="a1", view="security")
        await post_activity(client, "wrong agent", agentId="a2", view="ops")
        await post_activity(client, "both", agentId="a1", view="ops")
        frame = await stream.next_event()
    assert frame.data["title"] == "both"


async def test_replay_applies_the_filters(client: Any) -> None:
    async with open_stream(client) as stream:
        await post_activity(client, "start")
        start = await stream.next_event()
    await post_activity(client, "other", agentId="a2")
    await post_activity(client, "mine", agentId="a1")
    query = {"agentId": "a1", "lastEventId": str(start.id)}
    async with open_stream(client, query) as stream:
        frame = await stream.next_event()
    assert frame.data["title"] == "mine"


async def test_agent_changes_reach_the_stream(client: Any) -> None:
    response = await client.post("/api/agents", json={"id": "a1"}, headers=H)
    assert response.status_code == 201
    async with open_stream(client, {"agentId": "a1"}) as stream:
        patched = await client.patch("/api/agents/a1", json={"tags": ["x"]}, headers=H)
        assert patched.status_code == 200
        frame = await stream.next_event()
    assert frame.event == "agent"
    assert frame.data["change"] == "updated"
    assert frame.data["agent"]["tags"] == ["x"]


async def test_keep_alive_comment_when_nothing_happens(open_app: Any) -> None:
    async with (
        open_app(sse_keepalive_seconds=0.01) as app,
        open_stream(app.test_client()) as stream,
    ):
        frame = await stream.next_frame()
    assert frame.comments == ("keep-alive",)
    assert frame.id is None


async def test_stalled_client_is_dropped_and_does_not_stall_others(
    open_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="relay.events")
    count = 60
    # No batch window: the stalled client's chunks then hold one event each.
    async with open_app(sse_client_buffer=4, sse_batch_window_seconds=0) as app:
        client = app.test_client()
        async with open_stream(client) as stalled, open_stream(client) as reader:
            received: list[Frame] = []
            for n in range(count):
                await post_activity(client, f"e{n}")
                received.append(await reader.next_event())
            assert titles(received) == [f"e{n}" for n in range(count)]
            dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
            assert dropped == ["sse_client_dropped reason=slow buffered=4"]

            # The stalled client's stream ends after what it had buffered, without a gap...
            got = await read_until_end(stalled)
            assert titles(got) == [f"e{n}" for n in range(len(got))]
            assert 0 < len(got) < count

        # ...so reconnecting with its last id picks up exactly the rest.
        headers = {**H, "Last-Event-ID": str(got[-1].id)}
        async with open_stream(client, headers=headers) as resumed:
            rest = await resumed.events(count - len(got))
    assert titles(got + rest) == [f"e{n}" for n in range(count)]
