"""Reports land once the relay has them or refused them for good; retried otherwise."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.daemon.backoff import Backoff
from relay.daemon.client import RelayClient, RelayRejected, RelayUnavailable
from relay.daemon.outcome import JSON
from relay.daemon.reporting import Reporter


class FakeClient:
    def __init__(self, *answers: Exception | None) -> None:
        self.answers = list(answers)
        self.patches: list[tuple[str, JSON]] = []

    async def patch_command(self, command_id: str, body: JSON) -> JSON:
        self.patches.append((command_id, body))
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer
        return {"command": {"id": command_id}}


class FakeSocket:
    def __init__(self, reply: JSON | None) -> None:
        self.reply = reply
        self.sent: list[JSON] = []

    async def send_status(self, report: JSON) -> JSON | None:
        self.sent.append(report)
        return self.reply


def reporter(client: FakeClient, socket: FakeSocket | None = None) -> Reporter:
    fake: Any = client
    typed: RelayClient = fake
    return Reporter(typed, socket, lambda: Backoff(0.001, 0.002))


async def test_socket_reply_is_enough() -> None:
    client = FakeClient()
    socket = FakeSocket({"type": "status-ok", "commandId": "c1", "status": "succeeded"})
    assert await reporter(client, socket).report("c1", "succeeded", result={"ok": 1})
    assert socket.sent == [{"commandId": "c1", "status": "succeeded", "result": {"ok": 1}}]
    assert client.patches == []


async def test_already_settled_over_the_socket_counts_as_landed() -> None:
    client = FakeClient()
    socket = FakeSocket({"type": "error", "commandId": "c1", "error": "command already settled"})
    assert await reporter(client, socket).report("c1", "failed", error="x")
    assert client.patches == []


async def test_no_socket_falls_back_to_patch() -> None:
    client = FakeClient()
    assert await reporter(client, FakeSocket(None)).report("c1", "running")
    assert client.patches == [("c1", {"status": "running"})]


@pytest.mark.parametrize("status", [409, 404, 403])
async def test_definite_refusals_land(status: int) -> None:
    client = FakeClient(RelayRejected(status, "nope"))
    assert await reporter(client).report("c1", "succeeded", persistent=True)
    assert len(client.patches) == 1


async def test_unreachable_relay_is_retried_when_persistent() -> None:
    client = FakeClient(RelayUnavailable("down"), RelayRejected(401, "unauthorized"), None)
    with trio.fail_after(5):
        assert await reporter(client).report("c1", "succeeded", persistent=True)
    assert len(client.patches) == 3


async def test_unreachable_relay_gives_up_when_not_persistent() -> None:
    client = FakeClient(RelayUnavailable("down"))
    assert not await reporter(client).report("c1", "running")


@pytest.mark.parametrize(
    ("answer", "socket_reply", "run_it"),
    [
        (None, None, True),  # taken over PATCH
        (None, {"type": "status-ok", "commandId": "c1", "status": "running"}, True),
        (RelayRejected(409, "command already settled"), None, False),
        (None, {"type": "error", "commandId": "c1", "error": "command already settled"}, False),
        (RelayRejected(409, "cannot move a command from queued to running"), None, True),
        (RelayUnavailable("down"), None, True),  # no answer is no "settled": at least once
    ],
)
async def test_acknowledge_says_not_to_run_only_a_command_settled_on_the_relay(
    answer: Exception | None, socket_reply: JSON | None, run_it: bool
) -> None:
    socket = FakeSocket(socket_reply) if socket_reply is not None else None
    assert await reporter(FakeClient(answer), socket).acknowledge("c1") is run_it
