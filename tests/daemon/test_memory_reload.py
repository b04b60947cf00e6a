"""The compact hand-off: after ``/compact`` the session is told to reload its pinned memories
through ``memory_context``; the command's tags, never memory text, reach the terminal."""

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
from relay.daemon.context import Context, Host
from relay.daemon.memory_reload import reload_instruction, reload_tags
from relay.daemon.tmux import Tmux
from tests.e2e.processes import tmux_socket_path


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, []),
        ({"memoryReload": "style"}, []),
        ({"memoryReload": ["style", "", 3, "build", "style"]}, ["style", "build"]),
        ({"memoryReload": ["ok", "rm -rf /", "a\nb", "x" * 65]}, ["ok"]),
    ],
)
def test_reload_tags_keeps_well_formed_names_in_order(
    params: dict[str, Any], expected: list[str]
) -> None:
    assert reload_tags(params) == expected


def test_reload_instruction_names_the_tool_and_tags_only_when_some() -> None:
    assert reload_instruction([]) is None
    line = reload_instruction(["style", "build"])
    assert line is not None
    assert "\n" not in line
    assert "memory_context" in line
    assert "style, build" in line


@pytest.fixture
def tmux_host(host: Host) -> Iterator[Host]:
    socket = f"relay-unit-{uuid.uuid4().hex[:8]}"
    fields = {f: getattr(host, f) for f in Host.__dataclass_fields__}
    yield Host(**{**fields, "tmux": Tmux(socket=socket)})
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, check=False)
    tmux_socket_path(socket).unlink(missing_ok=True)


async def typed_lines(path: Path, count: int) -> list[str]:
    with trio.fail_after(5):
        while not path.exists() or path.read_text().count("\n") < count:
            await trio.sleep(0.02)
    return path.read_text().splitlines()


async def compact(host: Host, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    name = "relay-reload1"
    await host.tmux.run("new-session", "-d", "-s", name, f"cat > {out}")
    ctx = Context(host=host, command_id="c1", command_type="agent.compact")
    return await sessions.control(ctx, {"tmuxSession": name, "provider": "claude", **params})


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
async def test_compact_then_the_reload_instruction(tmux_host: Host, tmp_path: Path) -> None:
    out = tmp_path / "typed.txt"
    result = await compact(tmux_host, out, {"memoryReload": ["style", "build"]})
    assert result["memoryReload"] == ["style", "build"]
    first, second = await typed_lines(out, 2)
    assert first == "/compact"
    assert second == reload_instruction(["style", "build"])


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
async def test_compact_without_pinned_tags_types_only_the_compact(
    tmux_host: Host, tmp_path: Path
) -> None:
    out = tmp_path / "typed.txt"
    result = await compact(tmux_host, out, {"memoryReload": []})
    assert result["memoryReload"] == []
    assert await typed_lines(out, 1) == ["/compact"]
