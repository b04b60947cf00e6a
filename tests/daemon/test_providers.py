"""Provider rules: argv, session names, environment, controls, param checks."""

from __future__ import annotations

from typing import Any

import pytest

from relay.daemon import providers
from relay.daemon.outcome import CommandFailed
from relay.daemon.providers import SpawnRequest, build_argv

COMMANDS = {"claude_command": "claude", "codex_command": "codex --full-auto"}


def spawn(**params: Any) -> SpawnRequest:
    return SpawnRequest.parse({"spawnRequestId": "sp_1", "cwd": "/w", **params})


@pytest.mark.parametrize(
    ("params", "argv"),
    [
        ({"provider": "claude"}, ["claude"]),
        ({"provider": "claude", "model": "opus"}, ["claude", "--model", "opus"]),
        (
            {"provider": "claude", "providerArgs": ["--resume", "0b5c-id"]},
            ["claude", "--resume", "0b5c-id"],
        ),
        (
            {"provider": "codex", "model": "o3", "providerArgs": ["--x"]},
            ["codex", "--full-auto", "--model", "o3", "--x"],
        ),
        (
            {"provider": "command", "command": ["sleep", "300"], "providerArgs": ["extra"]},
            ["sleep", "300", "extra"],
        ),
        (
            {"provider": "command", "command": ["sh", "-c", "echo $HOME; rm -rf /"]},
            ["sh", "-c", "echo $HOME; rm -rf /"],  # an argv: nothing is split or expanded
        ),
    ],
)
def test_argv(params: dict[str, Any], argv: list[str]) -> None:
    assert build_argv(spawn(**params), **COMMANDS) == argv


def test_configured_command_is_split_like_a_shell() -> None:
    argv = build_argv(
        spawn(provider="claude"),
        claude_command="'/opt/my tools/claude' --verbose",
        codex_command="codex",
    )
    assert argv == ["/opt/my tools/claude", "--verbose"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"provider": "gpt"}, "provider must be one of claude, codex, command"),
        ({"provider": "command"}, r"command \(an argv list\) is required"),
        ({"provider": "command", "command": "sleep 1"}, "command must be a list of strings"),
        ({"provider": "claude", "providerArgs": [1]}, "providerArgs must be a list of strings"),
        ({"provider": "claude", "workspaceMode": "x"}, "workspaceMode must be one of"),
        ({"provider": "claude", "env": {"BAD-NAME": "x"}}, "not a valid environment variable"),
        ({"provider": "claude", "cwd": None}, "cwd is required"),
    ],
)
def test_bad_params_are_named(params: dict[str, Any], message: str) -> None:
    with pytest.raises(CommandFailed, match=message):
        spawn(**params)


def test_session_name_comes_from_the_spawn_request() -> None:
    assert providers.session_name("sp_0b5c.9:x y") == "relay-sp_0b5c-9-x-y"
    assert providers.valid_session_name(providers.session_name("sp_anything at all"))
    assert not providers.valid_session_name("a:b")


def test_agent_id_is_given_or_derived() -> None:
    assert providers.agent_id_for(spawn(provider="claude")) == "agent-sp_1"
    assert providers.agent_id_for(spawn(provider="claude", agentId="a-7")) == "a-7"


def test_session_env_carries_relay_and_runner_token() -> None:
    request = spawn(provider="claude", runnerToken="rt-xyz", env={"FOO": "1", "RELAY_TOKEN": "no"})
    env = providers.session_env(
        request, relay_url="http://r", agent_id="a1", orchestrator_id="o1", session="relay-sp_1"
    )
    assert env["RELAY_URL"] == "http://r"
    assert env["RELAY_TOKEN"] == "rt-xyz"
    assert env["RELAY_AGENT_ID"] == "a1"
    assert env["FOO"] == "1"


def test_session_env_never_passes_a_token_it_was_not_given() -> None:
    request = spawn(provider="claude", env={"RELAY_TOKEN": "smuggled"})
    env = providers.session_env(
        request, relay_url="http://r", agent_id="a1", orchestrator_id="o1", session="s"
    )
    assert "RELAY_TOKEN" not in env


@pytest.mark.parametrize(
    ("provider", "action", "keys"),
    [
        ("claude", "compact", "/compact"),
        ("claude", "clearContext", "/clear"),
        ("codex", "compact", "/compact"),
        ("claude", "reconnect", None),
        ("command", "compact", None),
    ],
)
def test_controls(provider: str, action: str, keys: str | None) -> None:
    assert providers.control_input(provider, action) == keys
    assert providers.lifecycle_capabilities(provider)[action] is (keys is not None)
