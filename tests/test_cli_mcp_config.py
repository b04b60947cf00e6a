"""``relay mcp-config --agent ID``: mints through the relay and prints only .mcp.json."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from relay.cli import cli
from relay.daemon.client import RelayRejected


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = []

    def call(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
        made.append({"url": url, "token": token, "method": method, "path": path, "body": body})
        return {"token": "mcp-token", "record": {}}

    monkeypatch.setattr("relay.daemon.admin.call", call)
    return made


def test_prints_only_the_mcp_json_block(calls: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(
        cli,
        [
            *("mcp-config", "--agent", "a 1", "--root-token", "rt_x"),
            *("--relay-url", "http://relay.test:7420/", "--ttl-seconds", "600"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "mcpServers": {
            "relay": {
                "type": "http",
                "url": "http://relay.test:7420/mcp",
                "headers": {"Authorization": "Bearer mcp-token"},
            }
        }
    }
    assert calls == [
        {
            "url": "http://relay.test:7420/",
            "token": "rt_x",
            "method": "POST",
            "path": "/api/agents/a%201/mcp-token",
            "body": {"ttlSeconds": 600},
        }
    ]


def test_name_names_the_server(calls: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(
        cli, ["mcp-config", "--agent", "a1", "--root-token", "rt_x", "--name", "team"]
    )
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["mcpServers"]) == ["team"]
    assert calls[0]["body"] == {}


def test_a_refusal_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise RelayRejected(404, "agent not found")

    monkeypatch.setattr("relay.daemon.admin.call", refuse)
    result = CliRunner().invoke(cli, ["mcp-config", "--agent", "ghost", "--root-token", "rt_x"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == "relay mcp-config: the relay refused: 404 agent not found"


def test_an_unreachable_relay_exits_1() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "mcp-config",
            "--agent",
            "a1",
            "--root-token",
            "rt_x",
            "--relay-url",
            "http://127.0.0.1:1",
        ],
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("relay mcp-config: the relay is unreachable:")


def test_no_credential_exits_2(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RELAY_ROOT_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["mcp-config", "--agent", "a1", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("relay mcp-config: pass --root-token")


def test_help() -> None:
    result = CliRunner().invoke(cli, ["mcp-config", "--help"])
    assert result.exit_code == 0
    for option in ("--agent", "--ttl-seconds", "--name", "--relay-url", "--root-token"):
        assert option in result.stdout
