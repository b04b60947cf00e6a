"""``relay serve`` on a real hypercorn socket: stopping drains open requests, idle connections
close, and nothing waits for the graceful timeout."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import h11
import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed, WebSocketConnection, wrap_client_stream

from relay.serve import serve
from relay.settings import Settings
from relay.startup import StartupError, Unguarded
from relay.store.schema import sqlite_path
from tests.conftest import ROOT

# Guards against a hung test. The server's own graceful timeout is far longer (LONG), so
# meeting a guard shows the server did not wait for it.
GUARD = 30
LONG = 600


class Http11:
    """One raw HTTP/1.1 client connection, so a test sees exactly what the server does."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.conn = h11.Connection(h11.CLIENT)

    async def send(self, method: str, target: str, body: bytes = b"") -> None:
        headers = [
            ("Host", "relay"),
            ("Authorization", f"Bearer {ROOT}"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
        ]
        request = h11.Request(method=method, target=target, headers=headers)
        data = self.conn.send(request) + self.conn.send(h11.Data(data=body))
        await self.stream.send_all(data + self.conn.send(h11.EndOfMessage()))

    async def event(self) -> h11.Event:
        while True:
            event = self.conn.next_event()
            if event is not h11.NEED_DATA:
                return event  # type: ignore[return-value]
            self.conn.receive_data(await self.stream.receive_some())

    async def response(self) -> tuple[int, bytes]:
        """The status and whole body of the next response; it must end (EndOfMessage)."""
        head = await self.event()
        assert isinstance(head, h11.Response)
        body = b""
        while not isinstance(event := await self.event(), h11.EndOfMessage):
            assert isinstance(event, h11.Data), event
            body += event.data
        return head.status_code, body

    async def closed_by_server(self) -> bool:
        """After a finished exchange: does the server close the idle connection?"""
        self.conn.start_next_cycle()
        return await self.stream.receive_some() == b""


@asynccontextmanager
async def connect(port: int) -> AsyncIterator[Http11]:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        yield Http11(stream)


@asynccontextmanager
async def serving(settings: Settings, **overrides: float) -> AsyncIterator[tuple[int, trio.Event]]:
    """A real server on an ephemeral port; set the event to stop it (as SIGTERM does)."""
    stop = trio.Event()
    served = settings.model_copy(update={"port": 0, **overrides})
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, served, stop_when=stop.wait))
        port = int(binds[0].rsplit(":", 1)[1])
        await until_ready(port)
        yield port, stop


async def until_ready(port: int) -> None:
    """Wait for /readyz 200: on PostgreSQL a relay serves as a standby until elected."""
    while True:
        async with connect(port) as http:
            await http.send("GET", "/readyz")
            if (await http.response())[0] == 200:
                return
        await trio.sleep(0.05)


@asynccontextmanager
async def websocket(port: int, path: str) -> AsyncIterator[WebSocketConnection]:
    # The test owns the socket: trio-websocket (0.12) leaves a client's socket to the
    # garbage collector when the server is the one that closes.
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream, trio.open_nursery() as nursery:
        auth = [(b"Authorization", f"Bearer {ROOT}".encode())]
        yield await wrap_client_stream(nursery, stream, "relay", path, extra_headers=auth)
        nursery.cancel_scope.cancel()


async def post(port: int, target: str, body: object) -> None:
    async with connect(port) as http:
        await http.send("POST", target, json.dumps(body).encode())
        status, _ = await http.response()
    assert status in (200, 201)


@pytest.mark.usefixtures("restore_gc")
async def test_stopping_answers_long_polls_and_ends_channels_streams_and_idle_connections(
    settings: Settings,
) -> None:
    with trio.fail_after(GUARD):
        async with serving(settings, shutdown_grace_seconds=LONG, keep_alive_seconds=LONG) as (
            port,
            stop,
        ):
            for orchestrator in ("o1", "o2"):
                await post(port, "/api/orchestrators", {"id": orchestrator, "baseDir": "/srv"})
            async with (
                connect(port) as idle,
                connect(port) as long_poll,
                connect(port) as events,
                websocket(port, "/api/orchestrators/o1/channel") as channel,
            ):
                await idle.send("GET", "/healthz")
                assert (await idle.response())[0] == 200
                await events.send("GET", "/api/events")
                head = await events.event()
                assert isinstance(head, h11.Response)
                assert head.status_code == 200
                assert isinstance(await events.event(), h11.Data)  # subscribed
                await long_poll.send("GET", "/api/orchestrators/o2/commands?wait=60")

                stop.set()

                status, body = await long_poll.response()
                assert (status, json.loads(body)) == (200, [])
                with pytest.raises(ConnectionClosed) as closed:
                    await channel.get_message()
                reason = closed.value.reason
                assert reason is not None
                assert reason.code == 1001
                assert reason.reason == "relay is shutting down"
                while not isinstance(event := await events.event(), h11.EndOfMessage):
                    assert isinstance(event, h11.Data)  # the stream ends, cleanly
                assert await idle.closed_by_server()
    # serve() has returned: the nursery in serving() is done, well inside the guard.


@pytest.mark.usefixtures("restore_gc")
async def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(
    settings: Settings,
) -> None:
    with trio.fail_after(GUARD):
        async with serving(settings, keep_alive_seconds=0.2) as (port, stop), connect(port) as http:
            await http.send("GET", "/healthz")
            assert (await http.response())[0] == 200
            assert await http.closed_by_server()
            stop.set()


@pytest.mark.usefixtures("restore_gc")
async def test_an_idle_connection_its_client_closed_is_closed_at_once(settings: Settings) -> None:
    # Not at the keep-alive timeout (LONG, past the guard): such connections stayed open in
    # CLOSE-WAIT, 174 of them after 500 clients had come and gone.
    with trio.fail_after(GUARD):
        async with serving(settings, keep_alive_seconds=LONG) as (port, stop):
            for _ in range(3):
                async with connect(port) as http:
                    await http.send("GET", "/healthz")
                    assert (await http.response())[0] == 200
                    # The server has recycled the connection and waits, idle, for the next
                    # request (a close read before that was always noticed).
                    await trio.testing.wait_all_tasks_blocked()
                    await http.stream.send_eof()  # the client's FIN, as when it closes
                    assert await http.closed_by_server()
            stop.set()


@pytest.mark.usefixtures("restore_gc")
async def test_a_stream_its_client_left_does_not_hold_up_stopping(settings: Settings) -> None:
    # The connection's idle watch outlives each request: one whose client left mid-response
    # must end with it, not wait for the relay to stop and then for a response never to end.
    with trio.fail_after(GUARD):
        async with serving(settings, shutdown_grace_seconds=LONG, keep_alive_seconds=LONG) as (
            port,
            stop,
        ):
            async with connect(port) as events:
                await events.send("GET", "/api/events")
                head = await events.event()
                assert isinstance(head, h11.Response)
                assert head.status_code == 200
                assert isinstance(await events.event(), h11.Data)  # subscribed
            await trio.testing.wait_all_tasks_blocked()
            stop.set()


# -- one relay per store --------------------------------------------------------------------


def _sqlite_only(settings: Settings) -> None:
    if sqlite_path(settings.resolved_database_url()) is None:
        pytest.skip("SQLite's instance lock; PostgreSQL elects (tests/test_serve_elected.py)")


@pytest.mark.usefixtures("restore_gc")
async def test_a_relay_that_loses_its_instance_lock_stops(settings: Settings) -> None:
    _sqlite_only(settings)
    served = settings.model_copy(update={"port": 0, "instance_lock_check_seconds": 0.05})
    lost: list[Unguarded] = []

    async def serve_until_unguarded(task_status: trio.TaskStatus[list[str]]) -> None:
        try:
            await serve(served, stop_when=trio.sleep_forever, task_status=task_status)
        except Unguarded as exc:
            lost.append(exc)

    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_until_unguarded)
            path = sqlite_path(served.resolved_database_url())
            assert path is not None
            await trio.Path(path + ".lock").unlink()
    assert len(lost) == 1


@pytest.mark.usefixtures("restore_gc")
async def test_a_second_relay_on_the_store_refuses_before_migrating(settings: Settings) -> None:
    _sqlite_only(settings)
    with trio.fail_after(GUARD):
        async with serving(settings) as (port, stop):
            second = settings.model_copy(update={"port": 0})
            with pytest.raises(StartupError, match="another relay is using this database"):
                await serve(second, stop_when=trio.sleep_forever)
            async with connect(port) as http:  # the first one serves on
                await http.send("GET", "/healthz")
                assert (await http.response())[0] == 200
            stop.set()


@pytest.mark.usefixtures("restore_gc")
async def test_serving_on_port_0_reports_the_port_it_bound(settings: Settings) -> None:
    reported: list[list[str]] = []
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            stop = trio.Event()
            served = settings.model_copy(update={"port": 0})
            binds = await nursery.start(
                partial(serve, served, stop_when=stop.wait, on_listening=reported.append)
            )
            assert reported == [binds]
            port = int(binds[0].rsplit(":", 1)[1])
            assert port != 0
            async with connect(port) as http:
                await http.send("GET", "/healthz")
                assert (await http.response())[0] == 200
            stop.set()
