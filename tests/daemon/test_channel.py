"""The channel: WebSocket first (status reports answered in order), long-poll when the
socket cannot be had, backoff when neither can; with several relays the handshake follows a
standby's 307 to the active and skips a relay that is down."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import trio
from trio_websocket import WebSocketRequest, serve_websocket

from relay.daemon.backoff import Backoff
from relay.daemon.channel import Channel
from relay.daemon.client import RelayClient, RelayUnavailable
from relay.daemon.outcome import JSON
from relay.daemon.relays import RelayUrls
from tests.daemon.fake_standby import FakeStandby

COMMAND = {"id": "cmd_1", "type": "test.ok", "params": {}}


class FakeClient:
    """Just what the channel uses of ``RelayClient``."""

    def __init__(self, ws_ports: int | list[int], polls: list[list[JSON] | Exception]) -> None:
        self.token = "t"
        ports = [ws_ports] if isinstance(ws_ports, int) else ws_ports
        self.relays = RelayUrls([f"http://127.0.0.1:{port}" for port in ports])
        self.polls = polls
        self.polled = 0

    def websocket_url(self, path: str) -> str:
        return self.relays.current.replace("http://", "ws://") + path

    async def poll_commands(self, orchestrator_id: str, wait: int) -> list[JSON]:
        self.polled += 1
        if not self.polls:
            await trio.sleep_forever()
        answer = self.polls.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def channel(client: FakeClient, received: list[JSON], backoff: Backoff | None = None) -> Channel:
    async def on_command(command: JSON) -> None:
        received.append(command)

    typed: Any = client
    relay_client: RelayClient = typed
    return Channel(relay_client, "o1", on_command, backoff=backoff or Backoff(0.001, 0.002))


async def test_long_poll_when_the_socket_cannot_be_had(closed_port: int) -> None:
    received: list[JSON] = []
    client = FakeClient(closed_port, [[], [COMMAND]])
    chan = channel(client, received)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(chan.serve)
        with trio.fail_after(5):
            while not received:
                await trio.sleep(0.01)
        assert chan.mode == "long-poll"
        assert await chan.send_status({"commandId": "cmd_1", "status": "running"}) is None
        nursery.cancel_scope.cancel()
    assert received == [COMMAND]


async def test_backs_off_while_the_relay_is_down_then_polls(closed_port: int) -> None:
    received: list[JSON] = []
    down = RelayUnavailable("connection refused")
    client = FakeClient(closed_port, [down, down, down, [COMMAND]])
    chan = channel(client, received)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(chan.serve)
        with trio.fail_after(5):
            while not received:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert client.polled >= 4  # three refusals (with backoff), then the command
    assert received == [COMMAND]


async def test_websocket_delivers_and_answers_reports_in_order() -> None:
    reports: list[JSON] = []

    async def relay(request: WebSocketRequest) -> None:
        assert dict(request.headers)[b"authorization"] == b"Bearer t"
        ws = await request.accept()
        await ws.send_message(json.dumps({"type": "command", "command": COMMAND}))
        while True:
            message = json.loads(await ws.get_message())
            reports.append(message)
            await ws.send_message(
                json.dumps(
                    {
                        "type": "status-ok",
                        "commandId": message["commandId"],
                        "status": message["status"],
                    }
                )
            )

    received: list[JSON] = []
    async with trio.open_nursery() as nursery:
        server = await nursery.start(
            partial(serve_websocket, relay, "127.0.0.1", 0, ssl_context=None)
        )
        client = FakeClient(server.port, [])
        chan = channel(client, received)
        nursery.start_soon(chan.serve)
        with trio.fail_after(5):
            while not received:
                await trio.sleep(0.01)
            assert chan.mode == "websocket"
            replies: list[JSON] = []

            async def report(status: str) -> None:
                reply = await chan.send_status({"commandId": "cmd_1", "status": status})
                assert reply is not None  # the socket is up
                replies.append(reply)

            async with trio.open_nursery() as reporters:
                reporters.start_soon(report, "running")
                reporters.start_soon(report, "succeeded")
        nursery.cancel_scope.cancel()
    assert received == [COMMAND]
    assert [r["status"] for r in reports] == [r["status"] for r in replies]
    assert all(r["type"] == "status" for r in reports)


async def pushing_relay(request: WebSocketRequest) -> None:
    """An active relay's channel: push one command, then keep the socket open."""
    ws = await request.accept()
    await ws.send_message(json.dumps({"type": "command", "command": COMMAND}))
    await trio.sleep_forever()


async def test_websocket_follows_a_standby_to_the_active() -> None:
    received: list[JSON] = []
    async with trio.open_nursery() as nursery:
        active = await nursery.start(
            partial(serve_websocket, pushing_relay, "127.0.0.1", 0, ssl_context=None)
        )
        active_url = f"http://127.0.0.1:{active.port}"
        standby = await nursery.start(FakeStandby(active_url).serve)
        client = FakeClient(standby.port, [])
        chan = channel(client, received)
        nursery.start_soon(chan.serve)
        with trio.fail_after(5):
            while not received:
                await trio.sleep(0.01)
        assert chan.mode == "websocket"
        nursery.cancel_scope.cancel()
    assert standby.requests == ["GET /api/orchestrators/o1/channel"]
    assert client.relays.current == active_url  # outside the list: the active named itself
    assert client.polled == 0
    assert received == [COMMAND]


async def test_websocket_skips_a_relay_that_is_down(closed_port: int) -> None:
    received: list[JSON] = []
    async with trio.open_nursery() as nursery:
        active = await nursery.start(
            partial(serve_websocket, pushing_relay, "127.0.0.1", 0, ssl_context=None)
        )
        active_url = f"http://127.0.0.1:{active.port}"
        client = FakeClient([closed_port, active.port], [])
        chan = channel(client, received)
        nursery.start_soon(chan.serve)
        with trio.fail_after(5):
            while not received:
                await trio.sleep(0.01)
        assert chan.mode == "websocket"
        nursery.cancel_scope.cancel()
    assert client.relays.current == active_url
    assert client.polled == 0


async def test_a_standby_without_an_active_means_long_poll_then_backoff() -> None:
    """503 "no active relay" on the socket: not a refusal; the channel polls, then waits."""
    received: list[JSON] = []
    async with trio.open_nursery() as nursery:
        standby = await nursery.start(FakeStandby(None).serve)
        client = FakeClient(standby.port, [RelayUnavailable("503"), [COMMAND]])
        chan = channel(client, received)
        nursery.start_soon(chan.serve)
        with trio.fail_after(5):
            while not received:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert standby.requests[0] == "GET /api/orchestrators/o1/channel"
    assert received == [COMMAND]


async def test_a_standbys_hint_shortens_the_backoff(closed_port: int) -> None:
    """Reconnect pauses of 60 s, but the relays said an active is being elected: retry soon."""
    received: list[JSON] = []
    electing = RelayUnavailable("307 to a relay that is down", retry_after=0.01)
    client = FakeClient(closed_port, [electing, electing, [COMMAND]])
    chan = channel(client, received, Backoff(60, 60))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(chan.serve)
        with trio.fail_after(5):
            while not received:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert received == [COMMAND]


async def test_without_a_hint_the_backoff_holds(closed_port: int) -> None:
    received: list[JSON] = []
    client = FakeClient(closed_port, [RelayUnavailable("connection refused"), [COMMAND]])
    chan = channel(client, received, Backoff(60, 60))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(chan.serve)
        await trio.sleep(0.5)
        assert chan.mode == "disconnected"
        nursery.cancel_scope.cancel()
    assert received == []
