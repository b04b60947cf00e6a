"""Issue 16: input Python's json would take but nothing downstream can carry.

Every route that stores client JSON refuses lone surrogates and non-finite numbers
with 400 and changes nothing, so no stored value can later break a reply, an SSE frame
or the dashboard's ``JSON.parse``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.http.helpers import H, create_command, register_orchestrator, websocket_refusals
from tests.http.sse_client import open_stream

# Each is spliced in where a JSON value goes.
POISON = [
    pytest.param('"\\ud800"', id="lone-surrogate"),
    pytest.param("NaN", id="nan"),
    pytest.param("-Infinity", id="infinity"),
    pytest.param("1e400", id="overflow"),
]

# (method, path, body with {} where the poisoned value goes)
STORING_ROUTES = [
    ("post", "/api/agents", '{"id": "a9", "meta": {"k": %s}}'),
    ("post", "/api/agents", '{"id": "a9", "providerCapabilities": {"k": %s}}'),
    ("patch", "/api/agents/a1", '{"meta": {"k": %s}}'),
    ("post", "/api/agents/a1/timeline", '{"title": "t", "metadata": {"k": %s}}'),
    ("post", "/api/activity", '{"title": "t", "metadata": {"k": [%s]}}'),
    ("post", "/api/commands", '{"type": "t", "target": "o1", "params": {"k": %s}}'),
    ("post", "/api/orchestrators/o1/heartbeat", '{"runtime": {"version": %s}}'),
    (
        "post",
        "/api/workspaces",
        '{"repoRoot": "/srv/o1/r", "worktreePath": "/srv/o1/w", "metadata": {"k": %s}}',
    ),
    ("put", "/api/config/ns/key", '{"value": {"k": %s}}'),
    ("put", "/api/steward-config", '{"value": {"k": %s}}'),
]


@pytest.mark.parametrize("poison", POISON)
@pytest.mark.parametrize(("method", "path", "template"), STORING_ROUTES)
async def test_unencodable_json_is_400_and_stores_nothing(
    client: Any, method: str, path: str, template: str, poison: str
) -> None:
    await register_orchestrator(client)
    await client.post("/api/agents", json={"id": "a1", "orchestratorId": "o1"}, headers=H)
    before = await _snapshot(client)
    response = await getattr(client, method)(
        path, data=template % poison, headers={**H, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, await response.get_data()
    assert await response.get_json() == {"error": "invalid JSON body"}
    assert await _snapshot(client) == before


async def test_a_poisoned_command_report_is_400_and_the_command_unchanged(client: Any) -> None:
    await register_orchestrator(client)
    command = await create_command(client)
    response = await client.patch(
        f"/api/commands/{command['id']}",
        data='{"status": "succeeded", "result": {"x": NaN}}',
        headers={**H, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    got = await (await client.get(f"/api/commands/{command['id']}", headers=H)).get_json()
    assert got["status"] == "queued"


async def test_a_poisoned_websocket_frame_gets_an_error_frame(client: Any) -> None:
    await register_orchestrator(client)
    command = await create_command(client)
    async with client.websocket("/api/orchestrators/o1/channel", headers=H) as ws:
        assert json.loads(await ws.receive())["command"]["id"] == command["id"]
        frame = '{"type": "status", "commandId": "%s", "status": "succeeded", "result": %s}'
        for poison in ('"\\ud800"', "NaN", "1e400"):
            await ws.send(frame % (command["id"], poison))
            assert json.loads(await ws.receive()) == {
                "type": "error",
                "error": "invalid JSON message",
            }
        await ws.send(frame % (command["id"], '"a\\u0000b"'))
        assert json.loads(await ws.receive()) == {
            "type": "error",
            "error": "result must not contain NUL characters",
        }
        await ws.send("[" * 100_000)
        assert json.loads(await ws.receive()) == {
            "type": "error",
            "error": "message is nested too deeply",
        }
        # The channel is still open and serving.
        await ws.send(
            json.dumps({"type": "status", "commandId": command["id"], "status": "running"})
        )
        assert json.loads(await ws.receive())["type"] == "status-ok"


async def test_a_live_stream_survives_a_rejected_poisoned_patch(client: Any) -> None:
    """The crash of issue 16: PATCH meta with a lone surrogate while an SSE client listens."""
    await client.post("/api/agents", json={"id": "a1"}, headers=H)
    async with open_stream(client) as stream:
        response = await client.patch(
            "/api/agents/a1",
            data='{"meta": {"k": "\\ud800"}}',
            headers={**H, "Content-Type": "application/json"},
        )
        assert response.status_code == 400
        response = await client.patch("/api/agents/a1", json={"meta": {"k": "ok"}}, headers=H)
        assert response.status_code == 200
        frame = await stream.next_event()
        assert frame.event == "agent"
        assert "ok" in json.dumps(frame.data), frame.data


async def _snapshot(client: Any) -> list[Any]:
    paths = [
        "/api/agents",
        "/api/agents/a1/timeline",
        "/api/activity?view=none-but-audits",
        "/api/commands",
        "/api/orchestrators",
        "/api/workspaces",
        "/api/config/ns/key",
        "/api/steward-config",
    ]
    return [(await (await client.get(path, headers=H)).get_data()) for path in paths]


LONG_AGENT = "a" * 201
LONG_COMMAND = "c" * 65
LONG_WORKSPACE = "w" * 65


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("get", f"/api/agents/{LONG_AGENT}", "agent not found"),
        ("patch", f"/api/agents/{LONG_AGENT}", "agent not found"),
        ("delete", f"/api/agents/{LONG_AGENT}", "agent not found"),
        ("post", f"/api/agents/{LONG_AGENT}/heartbeat", "agent not found"),
        ("get", f"/api/agents/{LONG_AGENT}/timeline", "agent not found"),
        ("post", f"/api/agents/{LONG_AGENT}/timeline", "agent not found"),
        ("get", f"/api/agents/{LONG_AGENT}/actions", "agent not found"),
        ("post", f"/api/agents/{LONG_AGENT}/actions", "agent not found"),
        ("get", f"/api/agents/{LONG_AGENT}/commands", "agent not found"),
        ("get", f"/api/orchestrators/{LONG_AGENT}", "orchestrator not found"),
        ("post", f"/api/orchestrators/{LONG_AGENT}/heartbeat", "orchestrator not found"),
        ("get", f"/api/orchestrators/{LONG_AGENT}/commands", "orchestrator not found"),
        ("post", f"/api/orchestrators/{LONG_AGENT}/spawn", "orchestrator not found"),
        ("post", f"/api/orchestrators/{LONG_AGENT}/runner-token", "orchestrator not found"),
        ("get", f"/api/commands/{LONG_COMMAND}", "command not found"),
        ("patch", f"/api/commands/{LONG_COMMAND}", "command not found"),
        ("get", f"/api/workspaces/{LONG_WORKSPACE}", "workspace not found"),
        ("delete", f"/api/workspaces/{LONG_WORKSPACE}", "workspace not found"),
        ("post", f"/api/workspaces/{LONG_WORKSPACE}/actions", "workspace not found"),
        ("delete", f"/api/tokens/{'j' * 65}", "jti must be at most 64 characters"),
    ],
)
async def test_an_id_longer_than_its_column_never_reaches_the_store(
    client: Any, method: str, path: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(4):  # an actor that died on start used to turn the fourth into a 503
        response = await getattr(client, method)(path, json={}, headers=H)
        assert await response.get_json() == {"error": message}
        assert response.status_code == (400 if "jti" in message else 404)
    assert "Traceback" not in caplog.text
    assert [r for r in caplog.records if r.levelno >= 40] == []


async def test_a_channel_for_an_over_long_id_is_refused(client: Any) -> None:
    response = await client.get(f"/api/orchestrators/{LONG_AGENT}/commands", headers=H)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (f"/api/commands?target={LONG_AGENT}", "target must be at most 200 characters"),
        (f"/api/commands?type={'t' * 65}", "type must be at most 64 characters"),
        (
            f"/api/commands?correlationId={LONG_AGENT}",
            "correlationId must be at most 200 characters",
        ),
        (
            f"/api/agents?orchestratorId={LONG_AGENT}",
            "orchestratorId must be at most 200 characters",
        ),
        (f"/api/workspaces?agentId={LONG_AGENT}", "agentId must be at most 200 characters"),
        (f"/api/activity?agentId={LONG_AGENT}", "agentId must be at most 200 characters"),
        (f"/api/activity?view={'v' * 65}", "view must be at most 64 characters"),
        (
            f"/api/workspaces?repoRoot=/{'r' * 1024}",
            "repoRoot must be at most 1024 characters",
        ),
    ],
)
async def test_an_over_long_filter_is_400(client: Any, path: str, message: str) -> None:
    response = await client.get(path, headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": message}


async def test_an_over_long_lease_release_is_400(client: Any) -> None:
    response = await client.delete(f"/api/merge-leases?repoRoot=/{'r' * 1024}", headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": "repoRoot must be at most 1024 characters"}


@pytest.mark.parametrize("length", [1025, 4096])
async def test_a_repo_root_longer_than_the_lease_key_is_400(client: Any, length: int) -> None:
    repo = "/" + "r" * (length - 1)
    response = await client.post(
        "/api/workspaces", json={"repoRoot": repo, "worktreePath": "/w"}, headers=H
    )
    assert response.status_code == 400
    assert await response.get_json() == {"error": "repoRoot must be at most 1024 characters"}
    relative = "r" * 1024  # normalised to 1,025 characters
    response = await client.post(
        "/api/workspaces", json={"repoRoot": relative, "worktreePath": "/w"}, headers=H
    )
    assert response.status_code == 400


async def test_a_repo_root_at_the_limit_merges(client: Any) -> None:
    repo = "/" + "r" * 1023
    response = await client.post(
        "/api/workspaces",
        json={"id": "w1", "repoRoot": repo, "worktreePath": "/w", "status": "ready"},
        headers=H,
    )
    assert response.status_code == 201
    response = await client.post("/api/workspaces/w1/actions", json={"action": "merge"}, headers=H)
    # No orchestrator owns it: the lease was taken and released, with a clear 409.
    assert response.status_code == 409
    assert await response.get_json() == {
        "error": "no online orchestrator available for workspace merge"
    }


async def test_an_expected_refusal_inside_an_actor_logs_no_traceback(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 16, section 5: 2,193 pykka tracebacks at INFO in one fuzz run were 404s/409s."""
    caplog.set_level(logging.DEBUG)
    response = await client.post("/api/agents/ghost/heartbeat", headers=H)  # 404 in the actor
    assert response.status_code == 404
    await register_orchestrator(client)
    command = await create_command(client)
    assert (
        await client.patch(
            f"/api/commands/{command['id']}", json={"status": "cancelled"}, headers=H
        )
    ).status_code == 200
    again = await client.patch(
        f"/api/commands/{command['id']}", json={"status": "succeeded"}, headers=H
    )
    assert again.status_code == 409  # settled already: refused inside the orchestrator's actor
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/orchestrators/o%001/channel", "not found"),  # NUL: refused before any look-up
        (f"/api/orchestrators/{LONG_AGENT}/channel", "orchestrator not found"),
    ],
)
async def test_a_channel_url_is_checked_as_an_http_url_is(
    client: Any, path: str, message: str
) -> None:
    await register_orchestrator(client)
    refused = await websocket_refusals(client, path, H)
    assert [response.status_code for response in refused] == [404]
    assert await refused[0].get_json() == {"error": message}
