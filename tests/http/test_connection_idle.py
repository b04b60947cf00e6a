"""A connection's idle watch (``relay.http.connection.IdleWatch``) on trio's mock clock: one
watcher per connection closes it past the keep-alive timeout of idleness, never while a
request is in flight, at once when the relay stops or the client has gone while idle."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import trio
import trio.testing
from hypercorn.trio.worker_context import EventWrapper

from relay.http.connection import IdleWatch

KEEP_ALIVE = 5.0


@dataclass
class Config:
    keep_alive_timeout: float = KEEP_ALIVE


@dataclass
class Context:
    terminated: EventWrapper = field(default_factory=EventWrapper)


class Connection:
    """What the watch needs of hypercorn's TCPServer; records when it was closed."""

    def __init__(self) -> None:
        self.config = Config()
        self.context = Context()
        self.closed_at: list[float] = []

    async def _initiate_server_close(self) -> None:
        self.closed_at.append(trio.current_time())


class TaskGroup:
    def __init__(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery

    def spawn(self, func: Any, *args: Any) -> None:
        self.nursery.start_soon(func, *args)


@asynccontextmanager
async def watched() -> AsyncIterator[tuple[IdleWatch, Connection, TaskGroup]]:
    connection = Connection()
    watch = IdleWatch(connection)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:
        yield watch, connection, TaskGroup(nursery)
        watch.end()


async def test_an_idle_connection_closes_at_the_keep_alive_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with watched() as (watch, connection, group):
        start = trio.current_time()
        await watch.restart(group)
        await trio.sleep(10)
    assert connection.closed_at == [start + KEEP_ALIVE]


async def test_each_response_moves_the_keep_alive_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with watched() as (watch, connection, group):
        await watch.restart(group)
        for _ in range(3):  # a request every 4 s, each 1 s long: never 5 s idle
            await trio.sleep(3)
            await watch.stop()
            await trio.sleep(1)
            last_response = trio.current_time()
            await watch.restart(group)
        await trio.sleep(10)
    assert connection.closed_at == [last_response + KEEP_ALIVE]


async def test_a_request_in_flight_is_never_closed_for_idleness(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with watched() as (watch, connection, group):
        await watch.restart(group)
        await watch.stop()
        await trio.sleep(100)  # a long-poll, a stream
        assert connection.closed_at == []


async def test_stopping_closes_an_idle_connection_at_once_and_a_busy_one_once_done(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with watched() as (watch, connection, group):
        await watch.restart(group)
        await watch.stop()
        await trio.sleep(1)
        await connection.context.terminated.set()
        await trio.sleep(1)
        assert connection.closed_at == []  # its response is still being written
        done = trio.current_time()
        await watch.restart(group)
        await trio.testing.wait_all_tasks_blocked()
    assert connection.closed_at == [done]


async def test_a_client_gone_while_idle_is_closed_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with watched() as (watch, connection, group):
        await watch.restart(group)
        await trio.sleep(1)
        watch.peer_gone()
        await trio.testing.wait_all_tasks_blocked()
        assert connection.closed_at == [trio.current_time()]


async def test_a_closing_connection_ends_its_watch_without_closing_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with watched() as (watch, connection, group):
        await watch.restart(group)
        await watch.stop()
        watch.end()  # hypercorn sent Closed: it closes the connection itself
        await trio.testing.wait_all_tasks_blocked()
        await connection.context.terminated.set()
        await trio.sleep(100)
    assert connection.closed_at == []


async def test_a_client_gone_mid_response_ends_the_watch_without_closing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # hypercorn closed the response's stream: the connection ends with its tasks.
    connection = Connection()
    watch = IdleWatch(connection)  # type: ignore[arg-type]
    async with trio.open_nursery() as nursery:  # exits only once the watcher has left
        await watch.restart(TaskGroup(nursery))
        await watch.stop()
        await trio.sleep(1)
        watch.peer_gone()
    assert connection.closed_at == []


async def _response_ends_as_a_request_begins() -> tuple[bool, IdleWatch]:
    """One try: the response's task calls ``restart`` and the reader's ``stop``, both woken
    in one batch; the reader calls it only if it runs after ``restart`` was called (trio
    picks the order). Whether it did, and the watch after both."""
    async with watched() as (watch, _connection, group):
        await watch.restart(group)  # as hypercorn starts a connection
        await watch.stop()  # the first request
        both_woken = trio.Event()
        restarted = stopped = False

        async def response_ends() -> None:
            nonlocal restarted
            await both_woken.wait()
            restarted = True
            await watch.restart(group)

        async def next_request_begins() -> None:
            nonlocal stopped
            await both_woken.wait()
            if restarted:
                stopped = True
                await watch.stop()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(response_ends)
            nursery.start_soon(next_request_begins)
            await trio.testing.wait_all_tasks_blocked()
            both_woken.set()
        return stopped, watch


async def test_a_request_begun_as_the_last_response_ends_keeps_the_connection_busy() -> None:
    """hypercorn calls ``restart`` as a response ends and, when a pipelined request was
    already read, ``stop`` from the reader in the same scheduler batch: the changes count
    in call order, whichever order trio runs the two tasks' next steps in."""
    stopped_after_restart = 0
    for _ in range(60):
        stopped, watch = await _response_ends_as_a_request_begins()
        assert watch._wait is not None
        if stopped:
            stopped_after_restart += 1
            assert not watch._idle  # busy: never closed for idleness mid-request
            assert watch._wait.deadline == math.inf
        else:
            assert watch._idle
    assert stopped_after_restart > 0  # trio ran that order (each try: one chance in two)
