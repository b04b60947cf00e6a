"""``relay orchestrator`` given several relay URLs, against a real relay on a real socket: past
a relay that is down and a standby that redirects (307, the WebSocket handshake included),
the daemon ends on the active and runs a command there."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from relay.daemon.config import DaemonSettings
from relay.daemon.daemon import Daemon
from relay.serve import serve
from relay.settings import Settings
from tests.conftest import ROOT
from tests.daemon.fake_standby import FakeStandby
from tests.daemon.repos import make_repo

GUARD = 60


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def elected(api: httpx.AsyncClient) -> None:
    """On PostgreSQL a relay starts as a standby and is active once elected."""
    for _ in range(400):
        if (await api.get("/readyz")).status_code == 200:
            return
        await trio.sleep(0.05)
    raise AssertionError("the relay was not elected in 20 s")


async def orchestrator_token(api: httpx.AsyncClient, orchestrator_id: str) -> str:
    response = await api.post(
        "/api/tokens",
        json={
            "sub": f"orchestrator:{orchestrator_id}",
            "profile": "orchestrator",
            "constraints": {"orchestrators": [orchestrator_id]},
        },
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def settled(api: httpx.AsyncClient, command_id: str) -> dict[str, Any]:
    while True:
        command: dict[str, Any] = (await api.get(f"/api/commands/{command_id}")).json()
        if command["status"] in ("succeeded", "failed", "expired"):
            return command
        await trio.sleep(0.05)


@pytest.mark.usefixtures("restore_gc")
# On PostgreSQL, stopping an in-process relay leaves its election's asyncpg connection to the
# garbage collector (the server half's; reported): not what this test is about.
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*Connection.__del__:pytest.PytestUnraisableExceptionWarning"
)
async def test_the_daemon_goes_past_a_dead_relay_and_a_standby_to_the_active(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    # The switch lines are read from a handler on their own logger, not from caplog: earlier
    # tests in the same process reconfigure logging (the CLI's basicConfig(force=True)
    # replaces the root's handlers), and in the full suite caplog saw none of them.
    switch_log = logging.getLogger("relay.daemon.relays")
    lines = _Lines()
    switch_log.addHandler(lines)
    monkeypatch.setattr(switch_log, "level", logging.INFO)
    monkeypatch.setattr(switch_log, "disabled", False)
    base = tmp_path / "base"
    repo = make_repo(base / "repo")
    dead = f"http://127.0.0.1:{closed_port}"
    stop_relay = trio.Event()
    with trio.fail_after(GUARD):
        async with trio.open_nursery() as nursery:
            served = settings.model_copy(update={"port": 0})
            binds = await nursery.start(partial(serve, served, stop_when=stop_relay.wait))
            active = f"http://127.0.0.1:{int(binds[0].rsplit(':', 1)[1])}"
            standby = await nursery.start(FakeStandby(active).serve)
            api = httpx.AsyncClient(base_url=active, headers={"Authorization": f"Bearer {ROOT}"})
            async with api:
                await elected(api)
                daemon_settings = DaemonSettings(
                    url=[dead, standby.url],
                    token=await orchestrator_token(api, "o-ha"),
                    base_dir=base,
                    id="o-ha",
                    tmux_socket="relay-unit-unused",
                    backoff_initial_seconds=0.05,
                    backoff_max_seconds=0.2,
                )
                daemon = Daemon(daemon_settings)
                done = trio.Event()

                async def run_daemon(task_status: trio.TaskStatus[Daemon]) -> None:
                    await daemon.run(task_status=task_status)
                    done.set()

                await nursery.start(run_daemon)
                assert daemon.channel is not None
                await daemon.channel.connected.wait()
                mode = daemon.channel.mode
                created = await api.post(
                    "/api/commands",
                    json={
                        "type": "workspace.create",
                        "target": "o-ha",
                        "params": {"repoRoot": str(repo), "branch": "ha-1", "baseRef": "main"},
                    },
                )
                assert created.status_code == 201, created.text
                command = await settled(api, created.json()["command"]["id"])
            daemon.stop.set()
            await done.wait()
            stop_relay.set()
            nursery.cancel_scope.cancel()
    assert mode == "websocket"
    assert command["status"] == "succeeded", command
    assert command["result"]["recorded"] is True
    # The daemon asked the standby (after the dead one) and was sent on to the active,
    # for its HTTP calls and for the channel's WebSocket handshake.
    assert standby.requests[0] == "POST /api/orchestrators"
    switch_log.removeHandler(lines)
    switches = lines.messages
    assert switches[0].startswith(f"relay_switch from={dead} to={standby.url} reason=ConnectError")
    assert switches[1:] == [
        f"relay_switch from={standby.url} to={active} reason=307 from a standby"
    ]
