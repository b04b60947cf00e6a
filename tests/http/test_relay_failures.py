"""The relay half when things fail: integration replays after an outage, odd template
paths, U+0000 and unexpected failures in MCP tools. Each test asserts the house rules
(architecture.md, spec): a store that is down is a 503 ``store unavailable`` with
Retry-After (an ``isError`` result over MCP), bad input a clear 4xx that changes nothing,
and a retry repairs what a 503 left behind."""

from __future__ import annotations

import json
from typing import Any

import pykka
import pytest
from tortoise.exceptions import OperationalError

from relay.store import channels as channel_store
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.integration_setup import (  # noqa: F401  (app: the app with integration ci)
    CI_H,
    agent,
    app,
    cut_off,
    deliver,
    inbox_bodies,
    message_to,
    save_automation,
)

MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


async def automation(client: Any, name: str, to: str, body: str) -> dict[str, Any]:
    return await save_automation(client, name, message_to(to, body))


# -- integrations and automations: an event that is stored, then fails ----------------------


async def test_a_replayed_event_dispatches_the_automation_an_outage_cut_off(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two automations match; the store fails while the second one's result is written.
    The event is stored (deduped) and the reply is 503: the integration's retry with the
    same X-Delivery-Id must dispatch the second automation, not answer with the first
    one's result alone (spec: each matching automation dispatches once)."""
    await agent(client, "a1")
    first = await automation(client, "a-first", "a1", "from a-first")
    second = await automation(client, "b-second", "a1", "from b-second")
    await cut_off(client, monkeypatch, second["id"])

    replay = await deliver(client, "d-1")
    assert replay.status_code == 200, await replay.get_data()
    got = await replay.get_json()
    assert sorted(d["automationId"] for d in got["dispatches"]) == sorted(
        [first["id"], second["id"]]
    ), got
    kept = await client.get(f"/api/automations/{second['id']}/dispatches", headers=H)
    assert len(await kept.get_json()) == 1


async def test_a_replayed_event_runs_an_automation_s_action_once(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The action (a message) runs, then the store fails as its result is written: 503.
    The retry of the same delivery must not post the message a second time (spec: an
    event dispatches each matching automation once)."""
    await agent(client, "a1")
    saved = await automation(client, "notify", "a1", "build failed")
    await cut_off(client, monkeypatch, saved["id"])

    replay = await deliver(client, "d-1")
    assert replay.status_code == 200, await replay.get_data()
    assert await inbox_bodies(client, "a1") == ["build failed"]


async def test_a_replayed_event_creates_an_automation_s_task_once(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for a message: a task created by a run whose result the store could not keep is
    the task the replay names, not a second one."""
    saved = {
        "name": "triage",
        "trigger": {"type": "event", "eventType": "build.failed"},
        "action": {"type": "create_task", "task": {"title": "triage the build"}},
    }
    response = await client.post("/api/automations", json=saved, headers=H)
    assert response.status_code == 201, await response.get_data()
    created = await response.get_json()
    await cut_off(client, monkeypatch, created["id"])

    replay = await deliver(client, "d-1")
    assert replay.status_code == 200, await replay.get_data()
    [dispatch] = (await replay.get_json())["dispatches"]
    tasks = await (await client.get("/api/tasks", headers=H)).get_json()
    assert [t["title"] for t in tasks] == ["triage the build"]
    assert dispatch["result"] == {"taskId": tasks[0]["id"]}
    # Another event is another run: another task.
    assert (await deliver(client, "d-2")).status_code == 201
    assert len(await (await client.get("/api/tasks", headers=H)).get_json()) == 2


# -- automations: bad input in paths ---------------------------------------------------------

# U+00B9 SUPERSCRIPT ONE: str.isdigit() says yes, int() refuses it.
SUPERSCRIPT_ONE = "\u00b9"


async def test_a_template_path_with_a_superscript_digit_is_not_a_500(client: Any) -> None:
    """A ``{{path}}`` whose part is a digit to ``str.isdigit`` but not to ``int``, into a
    list of the event: the run answers its dispatch result (the path is missing), not 500."""
    await agent(client, "a1")
    saved = {
        "name": "odd-path",
        "trigger": {"type": "event", "eventType": "build.failed"},
        "action": {
            "type": "post_message",
            "to": "a1",
            "body": "item {{event.items." + SUPERSCRIPT_ONE + "}}",
        },
    }
    created = await (await client.post("/api/automations", json=saved, headers=H)).get_json()
    response = await client.post(
        f"/api/automations/{created['id']}/run",
        json={"event": {"items": ["a", "b"]}},
        headers=H,
    )
    assert response.status_code == 200, await response.get_data()
    assert (await response.get_json())["status"] == "succeeded"


async def test_a_filter_path_with_a_superscript_digit_does_not_fail_the_integration(
    client: Any,
) -> None:
    """An automation filtering on such a path, and an event with a list there: the event
    is received (201) and the automation simply does not match. Today the event is stored,
    then the dispatch raises: 500, and every retry of the delivery 500 again."""
    await agent(client, "a1")
    saved = {
        "name": "odd-filter",
        "trigger": {
            "type": "event",
            "eventType": "build.failed",
            "filter": {"payload.items." + SUPERSCRIPT_ONE: "b"},
        },
        "action": {"type": "post_message", "to": "a1", "body": "matched"},
    }
    assert (await client.post("/api/automations", json=saved, headers=H)).status_code == 201
    headers = {**CI_H, "X-Delivery-Id": "d-1"}
    event = {"type": "build.failed", "payload": {"items": ["a", "b"]}}
    response = await client.post("/api/integrations/ci/events", json=event, headers=headers)
    assert response.status_code == 201, await response.get_data()
    assert (await response.get_json())["dispatches"] == []
    retry = await client.post("/api/integrations/ci/events", json=event, headers=headers)
    assert retry.status_code == 200, await retry.get_data()


# -- MCP: the tools answer as the routes do --------------------------------------------------


async def mcp_token(client: Any, agent_id: str) -> str:
    response = await client.post(f"/api/agents/{agent_id}/mcp-token", json={}, headers=H)
    assert response.status_code == 201, await response.get_data()
    token: str = (await response.get_json())["token"]
    return token


async def call_tool_raw(client: Any, token: str, name: str, arguments_json: str) -> Any:
    """``tools/call`` with the arguments spliced in as raw JSON text."""
    raw = (
        '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", '
        f'"params": {{"name": "{name}", "arguments": {arguments_json}}}}}'
    )
    return await client.post(
        "/mcp",
        data=raw,
        headers={**MCP_HEADERS, **bearer(token), "Content-Type": "application/json"},
    )


async def test_send_message_refuses_a_nul_in_the_body_as_the_route_does(client: Any) -> None:
    """``POST /api/messages`` refuses U+0000 (400 ``body must not contain NUL characters``:
    PostgreSQL cannot store it). The ``send_message`` tool must refuse it too, with an
    isError result, and store nothing."""
    await agent(client, "a1")
    await agent(client, "a2")
    route = await client.post(
        "/api/messages",
        data='{"from": "a1", "to": "a2", "body": "a\\u0000b"}',
        headers={**H, "Content-Type": "application/json"},
    )
    assert route.status_code == 400
    message = (await route.get_json())["error"]
    assert "NUL" in message

    token = await mcp_token(client, "a1")
    response = await call_tool_raw(
        client, token, "send_message", '{"to": "a2", "body": "a\\u0000b"}'
    )
    assert response.status_code == 200, await response.get_data()
    result = (await response.get_json())["result"]
    assert result.get("isError") is True, result
    assert "NUL" in result["content"][0]["text"]
    assert await inbox_bodies(client, "a2") == []


async def test_pair_action_message_refuses_a_nul_as_the_route_does(client: Any) -> None:
    await agent(client, "d1")
    await agent(client, "n1")
    pair = await (
        await client.post("/api/pairs", json={"driver": "d1", "navigator": "n1"}, headers=H)
    ).get_json()
    before = await inbox_bodies(client, "n1")
    token = await mcp_token(client, "d1")
    arguments = json.dumps({"pairId": pair["id"], "action": "message", "message": "x@y"})
    arguments = arguments.replace("@", "\\u0000")  # JSON's escape for U+0000
    response = await call_tool_raw(client, token, "pair_action", arguments)
    result = (await response.get_json())["result"]
    assert result.get("isError") is True, result
    assert "NUL" in result["content"][0]["text"]
    assert await inbox_bodies(client, "n1") == before


@pytest.mark.parametrize(
    ("failure", "status", "message"),
    [
        pytest.param(
            OperationalError("no such column: channels.secret_internal_column"),
            500,
            "internal error",
            id="store-bug",
        ),
        pytest.param(
            pykka.ActorDeadError("ChannelActor-7 stopped"),
            503,
            "actor unavailable",
            id="actor-dead",
        ),
    ],
)
async def test_a_tool_failing_unexpectedly_answers_the_route_s_message_as_is_error(
    client: Any, monkeypatch: pytest.MonkeyPatch, failure: Exception, status: int, message: str
) -> None:
    """What ``GET /api/channels`` answers ``{"error": "internal error"}`` (500) or
    ``actor unavailable`` (503) must reach an MCP client as an isError result with that
    message: not a JSON-RPC error carrying the exception's own text (internals)."""
    await agent(client, "a1")
    token = await mcp_token(client, "a1")

    async def failing() -> Any:
        raise failure

    monkeypatch.setattr(channel_store, "list_summaries", failing)
    route = await client.get("/api/channels", headers=H)
    assert (route.status_code, (await route.get_json())["error"]) == (status, message)

    response = await call_tool_raw(client, token, "list_channels", "{}")
    assert response.status_code == 200, await response.get_data()
    answer = await response.get_json()
    assert str(failure) not in json.dumps(answer)
    assert "result" in answer, answer
    assert answer["result"].get("isError") is True
    assert answer["result"]["content"][0]["text"] == message
