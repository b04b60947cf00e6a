"""Session commands on a real tmux server (a private socket per test)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from relay.daemon import sessions
from relay.daemon.context import Host
from relay.daemon.outcome import CommandFailed
from relay.daemon.tmux import Tmux
from tests.daemon.conftest import FakeRelay
from tests.e2e.processes import tmux_socket_path

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def tmux_host(host: Host, monkeypatch: pytest.MonkeyPatch) -> Iterator[Host]:
    socket = f"relay-unit-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(host.settings, "session_grace_seconds", 2.0)
    tmux_host = Host(
        **{**{f: getattr(host, f) for f in Host.__dataclass_fields__}, "tmux": Tmux(socket=socket)}
    )
    yield tmux_host
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
    tmux_socket_path(socket).unlink(missing_ok=True)


async def wait_file(path: Path) -> str:
    with trio.fail_after(5):
        while not path.exists() or not path.read_text().endswith("\n"):
            await trio.sleep(0.02)
    return path.read_text()


def spawn_params(base_dir: Path, out: Path, **extra: Any) -> dict[str, Any]:
    script = f'echo "$RELAY_URL $RELAY_AGENT_ID ${{RELAY_TOKEN:-none}} $PWD" > {out}; exec sleep 60'
    return {
        "spawnRequestId": "sp_unit1",
        "provider": "command",
        "cwd": str(base_dir),
        "command": ["sh", "-c", script],
        **extra,
    }


async def test_spawn_runs_command_in_named_session_with_env(
    tmux_host: Host, base_dir: Path, make_context: Any, relay_fake: FakeRelay
) -> None:
    from relay.daemon.context import Context

    out = base_dir / "env.txt"
    ctx = Context(host=tmux_host, command_id="c1", command_type="agent.spawn")
    result = await sessions.spawn(ctx, spawn_params(base_dir, out, runnerToken="rt-1", label="L"))
    assert result["tmuxSession"] == "relay-sp_unit1"
    assert await tmux_host.tmux.has_session("relay-sp_unit1")
    assert (await wait_file(out)).split() == [
        "http://127.0.0.1:9",
        "agent-sp_unit1",
        "rt-1",
        str(base_dir.resolve()),
    ]
    [card] = relay_fake.agents
    assert card["meta"]["runnerManaged"] is True
    assert card["meta"]["spawnRequestId"] == "sp_unit1"
    assert card["meta"]["tmuxSession"] == "relay-sp_unit1"
    assert card["orchestratorId"] == "o-test"
    assert not list((base_dir / ".relay" / "launch").iterdir())  # the spec file is gone

    again = await sessions.spawn(ctx, spawn_params(base_dir, out))
    assert again["alreadyRunning"] is True

    [live] = await sessions.live_sessions(tmux_host)
    assert live.agent_id == "agent-sp_unit1"

    with pytest.raises(CommandFailed, match="provider command has no compact control"):
        await sessions.control(
            Context(host=tmux_host, command_id="c2", command_type="agent.compact"),
            {"agentId": "agent-sp_unit1"},
        )

    stopped = await sessions.shutdown(
        Context(host=tmux_host, command_id="c3", command_type="agent.shutdown"),
        {"agentId": "agent-sp_unit1"},
    )
    assert (stopped["stopped"], stopped["forced"]) == (True, False)
    assert not await tmux_host.tmux.has_session("relay-sp_unit1")
    assert await sessions.live_sessions(tmux_host) == []


async def test_shutdown_kills_a_session_that_ignores_sigterm(
    tmux_host: Host, base_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay.daemon.context import Context

    monkeypatch.setattr(tmux_host.settings, "session_grace_seconds", 0.3)
    out = base_dir / "ready.txt"
    ctx = Context(host=tmux_host, command_id="c1", command_type="agent.spawn")
    params = spawn_params(base_dir, out)
    params["command"] = ["sh", "-c", f"trap '' TERM; echo ready > {out}; while :; do sleep 1; done"]
    await sessions.spawn(ctx, params)
    await wait_file(out)
    stopped = await sessions.shutdown(ctx, {"tmuxSession": "relay-sp_unit1"})
    assert stopped["forced"] is True
    assert not await tmux_host.tmux.has_session("relay-sp_unit1")


async def test_spawn_refuses_cwd_outside_base(
    tmux_host: Host, tmp_path: Path, base_dir: Path
) -> None:
    from relay.daemon.context import Context
    from relay.daemon.paths import PathRefused

    ctx = Context(host=tmux_host, command_id="c1", command_type="agent.spawn")
    with pytest.raises(PathRefused):
        await sessions.spawn(ctx, spawn_params(base_dir, base_dir / "x", cwd=str(tmp_path)))
    assert not await tmux_host.tmux.has_session("relay-sp_unit1")


async def test_spawn_of_a_missing_provider_fails_clearly(tmux_host: Host, base_dir: Path) -> None:
    from relay.daemon.context import Context

    ctx = Context(host=tmux_host, command_id="c1", command_type="agent.spawn")
    with pytest.raises(CommandFailed, match="provider command not found on this host: no-such-cli"):
        await sessions.spawn(
            ctx,
            {
                "spawnRequestId": "sp_2",
                "provider": "command",
                "cwd": str(base_dir),
                "command": ["no-such-cli"],
            },
        )


async def test_restart_replaces_the_session(tmux_host: Host, base_dir: Path) -> None:
    from relay.daemon.context import Context

    ctx = Context(host=tmux_host, command_id="c1", command_type="agent.restart")
    first = await sessions.spawn(ctx, spawn_params(base_dir, base_dir / "1.txt", agentId="a-1"))
    assert first["agentId"] == "a-1"
    result = await sessions.restart(
        ctx,
        {
            "agentId": "a-1",
            "action": "resume",
            "tmuxSession": first["tmuxSession"],
            "restartSpawn": spawn_params(
                base_dir, base_dir / "2.txt", spawnRequestId="sp_unit2", providerArgs=[]
            ),
        },
    )
    assert result["tmuxSession"] == "relay-sp_unit2"
    assert result["agentId"] == "a-1"
    assert result["action"] == "resume"
    assert not await tmux_host.tmux.has_session("relay-sp_unit1")
    assert await tmux_host.tmux.has_session("relay-sp_unit2")


async def test_isolated_spawn_runs_in_a_new_worktree(
    tmux_host: Host, base_dir: Path, relay_fake: FakeRelay
) -> None:
    from relay.daemon.context import Context
    from tests.daemon.repos import git, make_repo

    repo = make_repo(base_dir / "proj")
    (repo / "pkg").mkdir()
    out = base_dir / "where.txt"
    ctx = Context(host=tmux_host, command_id="c1", command_type="agent.spawn")
    result = await sessions.spawn(
        ctx,
        {
            "spawnRequestId": "sp_iso1",
            "provider": "command",
            "cwd": str(repo / "pkg"),
            "workspaceMode": "isolated",
            "label": "Fix bug",
            "command": ["sh", "-c", f'echo "$PWD $RELAY_WORKSPACE_ID" > {out}; exec sleep 60'],
        },
    )
    ws = result["workspace"]
    worktree = Path(ws["worktreePath"])
    assert worktree.parent == base_dir.resolve() / ".relay" / "worktrees"
    assert git(worktree, "symbolic-ref", "--short", "HEAD") == ws["branch"] == "relay/fix-bug-iso1"
    assert (await wait_file(out)).split() == [str(worktree / "pkg"), "ws-sp_iso1"]
    [record] = relay_fake.workspaces
    assert record["agentId"] == "agent-sp_iso1"
    assert record["sourceCwd"] == str((repo / "pkg").resolve())
    assert record["metadata"]["sessionName"] == "relay-sp_iso1"


async def test_spawn_reports_a_provider_that_cannot_start(tmux_host: Host, base_dir: Path) -> None:
    from relay.daemon.context import Context

    ctx = Context(host=tmux_host, command_id="c1", command_type="agent.spawn")
    not_a_program = base_dir / "a-directory"
    not_a_program.mkdir()
    with pytest.raises(
        CommandFailed, match=r"could not start .*a-directory: not an executable file"
    ):
        await sessions.spawn(
            ctx,
            {
                "spawnRequestId": "sp_bad",
                "provider": "command",
                "cwd": str(base_dir),
                "command": [str(not_a_program)],
            },
        )
    assert not await tmux_host.tmux.has_session("relay-sp_bad")
    assert await sessions.live_sessions(tmux_host) == []
