"""An agent registered under no orchestrator is on no host an ``orchestrators`` limit
names: a token limited to o1 neither reads, manages, commands nor acts for it, nor adopts
it, and its stream carries none of its events (``access.within_place``). Only a token
naming the agent too (its own) reaches it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.sse_client import open_stream, until_end

SCOPES = [
    "agent:read",
    "agent:write",
    "activity:read",
    "message:read",
    "message:write",
    "command:write",
]


def o1_dashboard(mint: Any) -> dict[str, str]:
    return bearer(mint(SCOPES, {"orchestrators": ["o1"]}, sub="ops", role="dashboard"))


async def agents(client: Any) -> None:
    """a1 on o1, and a9 under no orchestrator."""
    for body in ({"id": "a1", "orchestratorId": "o1"}, {"id": "a9"}):
        response = await client.post("/api/agents", json=body, headers=H)
        assert response.status_code == 201, await response.get_data()


# (method, path, body) of what a token reaching a9 could do to it.
ROUTES = [
    ("get", "/api/agents/a9", None),
    ("get", "/api/agents/a9/timeline", None),
    ("post", "/api/agents/a9/heartbeat", None),
    ("patch", "/api/agents/a9", {"label": "taken"}),
    ("post", "/api/agents/a9/timeline", {"title": "planted"}),
    ("post", "/api/agents/a9/actions", {"action": "restart"}),
    ("get", "/api/agents/a9/inbox?wait=0", None),
    ("post", "/api/messages", {"from": "a9", "to": "a1", "body": "as a9"}),
    ("post", "/api/agents", {"id": "a9", "orchestratorId": "o1"}),
    ("delete", "/api/agents/a9", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_a_token_limited_by_orchestrator_does_not_reach_an_unplaced_agent(
    client: Any, mint: Any, method: str, path: str, body: Any
) -> None:
    await agents(client)
    before = await (await client.get("/api/agents/a9", headers=H)).get_json()
    kwargs: dict[str, Any] = {"headers": o1_dashboard(mint)}
    if body is not None:
        kwargs["json"] = body
    response = await getattr(client, method)(path, **kwargs)
    assert response.status_code == 403, await response.get_data()
    assert await response.get_json() == {"error": "forbidden"}
    # Nothing changed: the card is as it was, and no message was sent as a9.
    after = await client.get("/api/agents/a9", headers=H)
    assert after.status_code == 200
    assert await after.get_json() == before
    inbox = await client.get("/api/agents/a1/inbox?wait=0&peek=true", headers=H)
    assert (await inbox.get_json())["items"] == []


async def test_the_list_leaves_out_an_unplaced_agent(client: Any, mint: Any) -> None:
    await agents(client)
    listed = await client.get("/api/agents", headers=o1_dashboard(mint))
    assert [card["id"] for card in await listed.get_json()] == ["a1"]
    # o1's own agent stays reachable; root reads both.
    assert (await client.get("/api/agents/a1", headers=o1_dashboard(mint))).status_code == 200
    everything = await client.get("/api/agents", headers=H)
    assert sorted(card["id"] for card in await everything.get_json()) == ["a1", "a9"]


async def test_a_token_naming_the_agent_reaches_it(client: Any, mint: Any) -> None:
    await agents(client)
    own = bearer(mint(SCOPES, {"agents": ["a9"], "orchestrators": ["o1"]}, sub="a9"))
    assert (await client.get("/api/agents/a9", headers=own)).status_code == 200
    assert (await client.get("/api/agents/a9/inbox?wait=0", headers=own)).status_code == 200


async def test_the_stream_carries_no_event_of_an_unplaced_agent(client: Any, mint: Any) -> None:
    await agents(client)
    async with open_stream(client, headers=o1_dashboard(mint)) as stream:
        for agent_id in ("a9", "a1"):
            response = await client.patch(
                f"/api/agents/{agent_id}", json={"label": f"{agent_id} moved"}, headers=H
            )
            assert response.status_code == 200, await response.get_data()
        frames = await until_end(client, stream)
    cards = [f.data["agent"]["id"] for f in frames if f.event == "agent"]
    assert cards == ["a1"]


async def test_a_token_limited_by_orchestrator_registers_no_agent_of_no_host(
    client: Any, mint: Any
) -> None:
    """Nor may it write a new card under no orchestrator, which it could not read from
    then on, while its tags and meta reach channel bindings (found by review). Under o1 it
    may; a token naming the agent may register it under none."""
    ops = o1_dashboard(mint)
    body = {"id": "stray", "tags": ["reviewers"], "meta": {"sessionName": "tmux-far"}}
    refused = await client.post("/api/agents", json=body, headers=ops)
    assert refused.status_code == 403, await refused.get_data()
    assert await refused.get_json() == {"error": "forbidden"}
    assert (await client.get("/api/agents/stray", headers=H)).status_code == 404
    placed = await client.post("/api/agents", json={**body, "orchestratorId": "o1"}, headers=ops)
    assert placed.status_code == 201, await placed.get_data()
    own = bearer(mint(SCOPES, {"agents": ["mine"], "orchestrators": ["o1"]}, sub="mine"))
    assert (await client.post("/api/agents", json={"id": "mine"}, headers=own)).status_code == 201
