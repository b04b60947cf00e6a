"""Draining: once the relay is told to stop, long-polls answer, command channels close with
"going away" and event streams end, instead of holding the server's graceful shutdown."""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
import trio.lowlevel
from quart.testing.connections import WebsocketDisconnectError

from relay.http.services import Services
from tests.http.helpers import H, create_command, poll, register_orchestrator
from tests.http.sse_client import open_stream, post_activity

# Guards against a hung test: every wait below is far longer (25 s) if draining fails.
GUARD = 5


async def test_a_waiting_long_poll_answers_when_the_relay_drains(
    client: Any, services: Services
) -> None:
    await register_orchestrator(client)
    answers: list[Any] = []

    async def long_poll() -> None:
        answers.append(await poll(client, wait=25))

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(long_poll)
            while not services.runtime.doorbells.armed("o1"):  # the poll is waiting
                await trio.lowlevel.checkpoint()
            services.runtime.begin_draining()
    assert answers == [[]]


async def test_a_poll_while_draining_hands_out_what_is_queued_without_waiting(
    client: Any, services: Services
) -> None:
    await register_orchestrator(client)
    command = await create_command(client)
    services.runtime.begin_draining()
    services.runtime.begin_draining()  # idempotent
    with trio.fail_after(GUARD):
        assert [c["id"] for c in await poll(client, wait=25)] == [command["id"]]
        assert await poll(client, wait=25) == []


async def test_a_command_channel_closes_with_going_away(client: Any, services: Services) -> None:
    await register_orchestrator(client)
    command = await create_command(client)
    with trio.fail_after(GUARD):
        async with client.websocket("/api/orchestrators/o1/channel", headers=H) as ws:
            pushed = json.loads(await ws.receive())
            assert pushed["command"]["id"] == command["id"]
            services.runtime.begin_draining()
            with pytest.raises(WebsocketDisconnectError) as closed:
                await ws.receive()
    assert closed.value.args == (1001,)


async def test_event_streams_end_and_new_ones_end_at_once(client: Any, services: Services) -> None:
    with trio.fail_after(GUARD):
        async with open_stream(client) as stream:
            before = await post_activity(client, "before")
            seen = await stream.next_event()
            assert seen.data == before
            services.runtime.begin_draining()
            with pytest.raises(trio.EndOfChannel):
                await stream.next_event()
        async with open_stream(client) as late:
            with pytest.raises(trio.EndOfChannel):
                await late.next_event()
        # Events are still stored while the relay drains: a client that reconnects (to
        # the relay once it is back) with its Last-Event-ID is replayed them.
        during = await post_activity(client, "while draining")
        resumed = {**H, "Last-Event-ID": str(seen.id)}
        async with open_stream(client, headers=resumed) as replay:
            assert (await replay.next_event()).data == during
