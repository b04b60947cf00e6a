"""Channels, pairs and artifacts at their edges: who is streamed a pair, whom a dry run
names, over-long ids in attachments and links, a message given with a pair action."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator, two_hosts
from tests.http.sse_client import open_stream, post_activity


async def _agent(client: Any, agent_id: str, **fields: Any) -> None:
    response = await client.post("/api/agents", json={"id": agent_id, **fields}, headers=H)
    assert response.status_code in (200, 201), await response.get_data()


def _party(mint: Any, agent_id: str) -> dict[str, str]:
    scope = ["task:read", "task:write", "message:read", "message:write"]
    return bearer(mint(scope, {"agents": [agent_id]}, sub=f"sub-{agent_id}"))


async def _pair(client: Any, headers: dict[str, str] = H, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/pairs", json=body, headers=headers)
    assert response.status_code == 201, await response.get_data()
    pair: dict[str, Any] = await response.get_json()
    return pair


# -- constraint escapes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "constraints", [{"orchestrators": ["o1"]}, {"cwd": ["/srv/o1"]}], ids=["by-host", "by-path"]
)
async def test_the_stream_does_not_carry_a_pair_its_reader_may_not_read(
    client: Any, mint: Any, constraints: dict[str, list[str]]
) -> None:
    """GET /api/pairs/:id refuses this token (it acts for neither party: a provider token
    limited to o1 covers o1's agents but acts for none), and the list omits the pair; the
    event stream must not hand it the same pair, objective and all."""
    o1 = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    for agent_id in ("d", "n"):
        body = {"id": agent_id, "orchestratorId": "o1", "meta": {"cwd": f"/srv/o1/{agent_id}"}}
        response = await client.post("/api/agents", json=body, headers=o1)
        assert response.status_code == 201, await response.get_data()
    watcher = bearer(
        mint(["activity:read", "task:read"], constraints, role="provider", sub="watcher")
    )
    async with open_stream(client, None, watcher) as stream:
        pair = await _pair(client, driver="d", navigator="n", objective="o1's secret plan")
        await post_activity(client, "end", agentId="d")  # an event this caller does see
        frames: list[Any] = []
        while not frames or (frames[-1].data or {}).get("title") != "end":
            frames.append(await stream.next_event())
    read = await client.get(f"/api/pairs/{pair['id']}", headers=watcher)
    assert read.status_code == 403  # the route's judgement, which the stream must share
    assert [f.data for f in frames if f.event == "pair"] == []


async def test_a_channel_dry_run_names_no_agent_its_reader_does_not_reach(
    client: Any, mint: Any
) -> None:
    """A read-only token limited to o1 does not see o2's agent b2 in GET /api/agents, and
    cannot send; GET /api/channels/ops/route must not name b2 to it either (403, or the
    targets it reaches)."""
    await two_hosts(client, "b2")
    patched = await client.patch("/api/agents/b2", json={"tags": ["w"]}, headers=H)
    assert patched.status_code == 200, await patched.get_data()
    assert (await client.post("/api/channels", json={"id": "ops"}, headers=H)).status_code == 201
    binding = {"mode": "broadcast", "targetType": "tag", "target": "w"}
    added = await client.post("/api/channels/ops/bindings", json=binding, headers=H)
    assert added.status_code == 201, await added.get_data()
    reader = bearer(
        mint(["message:read", "agent:read"], {"orchestrators": ["o1"]}, role="orchestrator")
    )
    listed = await client.get("/api/agents", headers=reader)
    assert listed.status_code == 200
    visible = {card["id"] for card in await listed.get_json()}
    assert "b2" not in visible
    response = await client.get("/api/channels/ops/route", headers=reader)
    if response.status_code != 403:
        assert response.status_code == 200, await response.get_data()
        targets = [t["agentId"] for t in (await response.get_json())["targets"]]
        assert set(targets) <= visible, targets


# -- bad input: 500s ------------------------------------------------------------------------


async def test_a_pair_naming_an_over_long_task_id_is_not_a_500(client: Any) -> None:
    """taskId is accepted up to 200 characters, the tasks' id column holds 36: the store's
    validator raised (500). An id no task can have is 404 ``task not found`` (or a 400)."""
    await _agent(client, "d1")
    await _agent(client, "n1")
    response = await client.post(
        "/api/pairs", json={"driver": "d1", "navigator": "n1", "taskId": "t" * 37}, headers=H
    )
    assert response.status_code in (400, 404), await response.get_data()
    if response.status_code == 404:
        assert await response.get_json() == {"error": "task not found"}
    # Nothing half-done: both agents are still free to pair.
    assert (await _pair(client, driver="d1", navigator="n1"))["status"] == "active"


@pytest.mark.parametrize("length", [65, 200])
async def test_an_over_long_attachment_id_is_not_a_500(client: Any, length: int) -> None:
    """attachments[].artifactId is accepted up to 200 characters, the artifacts' id column
    holds 64: loading it raised in the store (500). It names no artifact: 404."""
    await _agent(client, "a1")
    body = {"to": "a1", "body": "x", "attachments": [{"artifactId": "a" * length}]}
    response = await client.post("/api/messages", json=body, headers=H)
    assert (response.status_code, await response.get_json()) == (
        404,
        {"error": "artifact not found"},
    )


async def test_an_over_long_attachment_id_in_a_pair_message_is_not_a_500(
    client: Any, mint: Any
) -> None:
    await _agent(client, "d1")
    await _agent(client, "n1")
    pair = await _pair(client, driver="d1", navigator="n1")
    body = {"body": "x", "attachments": [{"artifactId": "a" * 65}]}
    response = await client.post(
        f"/api/pairs/{pair['id']}/messages", json=body, headers=_party(mint, "d1")
    )
    assert (response.status_code, await response.get_json()) == (
        404,
        {"error": "artifact not found"},
    )


# -- pairs: the contract --------------------------------------------------------------------


async def test_a_message_given_with_a_pair_action_goes_to_the_other_party(
    client: Any, mint: Any
) -> None:
    """tasks.md: ``POST /api/pairs/:id/actions {action, message?, version?}``: `message`
    (required for action `message`) goes to the other party in the pair's conversation.
    A driver's request-review with a note must deliver the note to the navigator; the flow
    sends it only for action ``message`` and drops it silently otherwise."""
    await _agent(client, "d1")
    await _agent(client, "n1")
    pair = await _pair(client, driver="d1", navigator="n1")
    response = await client.post(
        f"/api/pairs/{pair['id']}/actions",
        json={"action": "request-review", "message": "please check the retry loop"},
        headers=_party(mint, "d1"),
    )
    assert response.status_code == 200, await response.get_data()
    assert (await response.get_json())["status"] == "awaiting_review"
    inbox = await client.get("/api/agents/n1/inbox?peek=true", headers=_party(mint, "n1"))
    bodies = [item["message"] for item in (await inbox.get_json())["items"]]
    notes = [m for m in bodies if m["body"] == "please check the retry loop"]
    assert len(notes) == 1, [m["body"] for m in bodies]
    assert notes[0]["from"] == "d1"
    assert notes[0]["conversationId"] == pair["conversationId"]
