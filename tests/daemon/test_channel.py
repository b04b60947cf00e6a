"""The channel: WebSocket first (status reports answered in order), long-poll when the
socket cannot be had, backoff when neither can."""

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

COMMAND = {"id": "cmd_1", "type": "test.ok", "params": {}}


class FakeClient:
    """Just what the channel uses of ``RelayClient``."""

    def __init__(self, ws_port: int, polls: list[list[JSON] | Exception]) -> None:
        self.token = "t"
        self.ws_port = ws_port
        self.polls = polls
        self.polled = 0

    def websocket_url(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.ws_port}{path}"

    async def poll_commands(self, orchestrator_id: str, wait: int) -> list[JSON]:
        self.polled += 1
        if not self.polls:
            await trio.sleep_forever()
        answer = self.polls.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def channel(client: FakeClient, received: list[JSON]) -> Channel:
    async def on_command(command: JSON) -> None:
        received.append(command)

    typed: Any = client
    relay_client: RelayClient = typed
    return Channel(relay_client, "o1", on_command, backoff=Backoff(0.001, 0.002))


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_long_poll_when_the_socket_cannot_be_had() -> None:
    received: list[JSON] = []
    client = FakeClient(closed_port(), [[], [COMMAND]])
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


async def test_backs_off_while_the_relay_is_down_then_polls() -> None:
    received: list[JSON] = []
    down = RelayUnavailable("connection refused")
    client = FakeClient(closed_port(), [down, down, down, [COMMAND]])
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
            replies = []

            async def report(status: str) -> None:
                replies.append(await chan.send_status({"commandId": "cmd_1", "status": status}))

            async with trio.open_nursery() as reporters:
                reporters.start_soon(report, "running")
                reporters.start_soon(report, "succeeded")
        nursery.cancel_scope.cancel()
    assert received == [COMMAND]
    assert [r["status"] for r in reports] == [r["status"] for r in replies]
    assert all(r["type"] == "status" for r in reports)
