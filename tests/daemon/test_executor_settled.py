"""The daemon runs no command the relay holds settled (the real Reporter, a fake relay)."""

from __future__ import annotations

from typing import Any

import trio

from relay.daemon.backoff import Backoff
from relay.daemon.client import RelayRejected
from relay.daemon.context import Context, Host
from relay.daemon.executor import Executor, Handler
from relay.daemon.outcome import JSON
from relay.daemon.reporting import Reporter


class SettledRelay:
    """A relay on which the command is already settled (cancelled by its creator, or
    expired before it was acknowledged): every status report is a 409."""

    def __init__(self) -> None:
        self.patches: list[tuple[str, JSON]] = []

    async def patch_command(self, command_id: str, body: JSON) -> JSON:
        self.patches.append((command_id, body))
        raise RelayRejected(409, "command already settled")


async def test_a_command_settled_on_the_relay_before_it_runs_is_not_run(host: Host) -> None:
    """``PATCH running`` answered ``409 command already settled``: the relay has cancelled
    (a cancelled merge already freed its lease and made its workspace ready again) or
    expired the command. The daemon must not carry it out anyway."""
    runs: list[JSON] = []

    async def handler(ctx: Context, params: JSON) -> JSON:
        runs.append(params)
        return {"done": True}

    relay = SettledRelay()
    fake: Any = relay
    reporter = Reporter(fake, None, lambda: Backoff(0.001, 0.002))
    async with trio.open_nursery() as nursery:
        executor = Executor(host, reporter, nursery, {"test.effect": Handler(handler, True, "")})
        await executor.submit({"id": "cmd_1", "type": "test.effect", "params": {"n": 1}})
        with trio.fail_after(5):
            await executor.wait_idle()
    assert [body["status"] for _, body in relay.patches][:1] == ["running"]
    assert runs == [], "the handler ran a command the relay had already settled"
