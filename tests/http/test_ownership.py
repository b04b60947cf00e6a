"""Issue 16, section 2: who owns a workspace, a command's target or an event comes from the
store, never from the request body, and a constrained token never reaches past it."""

from __future__ import annotations

import json
from typing import Any

import trio

from tests.conftest import bearer
from tests.http.helpers import H, create_command, register_orchestrator
from tests.http.sse_client import open_stream
from tests.http.test_workspaces import action, get_ws, leases, make_workspace

O2_REPO = "/srv/o2/repo"


async def two_hosts(client: Any) -> dict[str, str]:
    """o1 and o2 with an agent each, working under its host's base dir (a path-limited
    token acts for an agent by its stored cwd); returns o1's runtime token headers."""
    reply = await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    for agent_id, orchestrator_id in (("a1", "o1"), ("a2", "o2")):
        body = {
            "id": agent_id,
            "orchestratorId": orchestrator_id,
            "meta": {"cwd": f"/srv/{orchestrator_id}/{agent_id}"},
        }
        response = await client.post("/api/agents", json=body, headers=H)
        assert response.status_code == 201
    return bearer(reply["token"])


async def test_a_body_agent_id_does_not_open_another_agents_workspace(
    client: Any, mint: Any
) -> None:
    await two_hosts(client)
    await make_workspace(client, "w2", O2_REPO, agentId="a2", orchestratorId="o2")
    a1 = bearer(mint(["agent:read", "agent:write", "command:write"], {"agents": ["a1"]}))
    for body in (
        {"action": "merge", "agentId": "a1"},
        {"action": "status", "agentId": "a1"},
        {"action": "request-review", "agentId": "a1"},
        {"action": "abandon"},
    ):
        response = await action(client, "w2", a1, **body)
        assert response.status_code == 403, body
        assert await response.get_json() == {"error": "forbidden"}
    assert (await get_ws(client, "w2"))["status"] == "ready"
    assert await leases(client) == []


async def test_a_token_may_not_act_as_an_agent_it_does_not_cover(client: Any, mint: Any) -> None:
    await two_hosts(client)
    await make_workspace(client, "w1", "/srv/o1/repo", agentId="a1", orchestratorId="o1")
    a1 = bearer(mint(["agent:read", "agent:write"], {"agents": ["a1"]}))
    response = await action(client, "w1", a1, action="request-review", agentId="a2")
    assert response.status_code == 403
    assert (await get_ws(client, "w1"))["status"] == "ready"
    response = await action(client, "w1", a1, action="request-review", agentId="a1")
    assert response.status_code == 200


async def test_an_orchestrator_may_not_command_another_orchestrators_agent(
    client: Any,
) -> None:
    o1 = await two_hosts(client)
    response = await client.post(
        "/api/commands", json={"type": "agent.shutdown", "target": "a2"}, headers=o1
    )
    assert response.status_code == 403
    command = await create_command(client, target="a2", type_="agent.shutdown")
    assert (await client.get(f"/api/commands/{command['id']}", headers=o1)).status_code == 403
    for query in ("?target=a2", ""):
        listed = await (await client.get(f"/api/commands{query}", headers=o1)).get_json()
        assert command["id"] not in [c["id"] for c in listed]
    response = await client.patch(
        f"/api/commands/{command['id']}", json={"status": "cancelled"}, headers=o1
    )
    assert response.status_code == 403
    got = await (await client.get(f"/api/commands/{command['id']}", headers=H)).get_json()
    assert got["status"] == "queued"
    # Its own agent's commands it may create and read.
    own = await client.post(
        "/api/commands", json={"type": "agent.shutdown", "target": "a1"}, headers=o1
    )
    assert own.status_code == 201


async def test_workspace_create_checks_every_path_against_cwd(client: Any) -> None:
    o1 = await two_hosts(client)
    for body in (
        {"repoRoot": O2_REPO, "worktreePath": "/srv/o1/w"},
        {"repoRoot": "/srv/o1/repo", "sourceCwd": O2_REPO, "worktreePath": "/srv/o1/w"},
        {"repoRoot": "/srv/o1/../o2/repo", "worktreePath": "/srv/o1/w"},
    ):
        response = await client.post("/api/workspaces", json=body, headers=o1)
        assert response.status_code == 403, body
    assert await (await client.get("/api/workspaces", headers=H)).get_json() == []
    assert await leases(client) == []


async def test_reposting_another_owners_workspace_id_is_forbidden(client: Any) -> None:
    o1 = await two_hosts(client)
    await make_workspace(client, "w2", O2_REPO, agentId="a2", orchestratorId="o2")
    response = await client.post(
        "/api/workspaces",
        json={"id": "w2", "repoRoot": "/srv/o1/repo", "worktreePath": "/srv/o1/w"},
        headers=o1,
    )
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}


async def test_an_id_taken_in_another_repository_is_409(client: Any) -> None:
    await make_workspace(client, "w1", "/srv/o1/repo")
    response = await client.post(
        "/api/workspaces",
        json={"id": "w1", "repoRoot": "/srv/o1/other", "worktreePath": "/srv/o1/w"},
        headers=H,
    )
    assert response.status_code == 409
    assert await response.get_json() == {
        "error": "workspace w1 already exists for another repository"
    }


async def test_concurrent_creates_of_one_id_in_two_repos_give_201_and_409(client: Any) -> None:
    statuses: list[int] = []

    async def create(repo: str) -> None:
        response = await client.post(
            "/api/workspaces",
            json={"id": "w1", "repoRoot": repo, "worktreePath": f"{repo}/w"},
            headers=H,
        )
        statuses.append(response.status_code)

    async with open_stream(client) as stream:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(create, "/srv/o1/one")
            nursery.start_soon(create, "/srv/o1/two")
        assert sorted(statuses) == [201, 409]
        marker = await client.post("/api/activity", json={"title": "marker"}, headers=H)
        assert marker.status_code == 201
        events = []
        while True:
            frame = await stream.next_event()
            if frame.event == "activity" and frame.data.get("title") == "marker":
                break
            events.append(frame)
    created = [e for e in events if e.event == "workspace" and e.data["change"] == "created"]
    assert len(created) == 1
    listed = await (await client.get("/api/workspaces", headers=H)).get_json()
    assert [w["id"] for w in listed] == ["w1"]
    assert listed[0]["repoRoot"] == created[0].data["workspace"]["repoRoot"]


async def test_activity_is_filtered_like_the_event_stream(client: Any, mint: Any) -> None:
    await two_hosts(client)
    for agent_id in ("a1", "a2", None):
        response = await client.post(
            "/api/activity", json={"title": f"about {agent_id}", "agentId": agent_id}, headers=H
        )
        assert response.status_code == 201
    minted = await client.post(
        "/api/tokens",
        json={"sub": "x", "role": "dashboard", "scope": ["activity:read"]},
        headers=H,
    )
    assert minted.status_code == 201
    a1 = bearer(mint(["activity:read"], {"agents": ["a1"]}))
    titles = [e["title"] for e in await (await client.get("/api/activity", headers=a1)).get_json()]
    assert titles == ["about a1"]
    reader = bearer(mint(["activity:read"]))
    feed = await (await client.get("/api/activity", headers=reader)).get_json()
    assert [e for e in feed if e.get("view") == "security"] == []
    assert {"about a1", "about a2", "about None"} <= {e["title"] for e in feed}
    admin = bearer(mint(["activity:read", "token:admin"]))
    feed = await (await client.get("/api/activity", headers=admin)).get_json()
    assert [e["title"] for e in feed if e.get("view") == "security"] == ["Token issued"]


async def test_security_audits_are_withheld_from_the_stream_too(client: Any, mint: Any) -> None:
    reader = bearer(mint(["activity:read"]))
    async with open_stream(client, headers=reader) as stream:
        minted = await client.post(
            "/api/tokens",
            json={"sub": "x", "role": "dashboard", "scope": ["activity:read"]},
            headers=H,
        )
        assert minted.status_code == 201
        await client.post("/api/activity", json={"title": "marker"}, headers=H)
        frame = await stream.next_event()
    assert frame.data["title"] == "marker"


async def test_reports_are_authorized_alike_over_patch_and_the_channel(
    client: Any, mint: Any
) -> None:
    await two_hosts(client)
    command = await create_command(client, target="o1")
    # May write commands for o1, but is not o1: may cancel, never report progress or outcome.
    writer = bearer(mint(["command:read", "command:write"]))
    response = await client.patch(
        f"/api/commands/{command['id']}", json={"status": "succeeded"}, headers=writer
    )
    assert response.status_code == 403
    async with client.websocket("/api/orchestrators/o1/channel", headers=writer) as ws:
        assert json.loads(await ws.receive())["command"]["id"] == command["id"]
        await ws.send(
            json.dumps({"type": "status", "commandId": command["id"], "status": "succeeded"})
        )
        assert json.loads(await ws.receive()) == {
            "type": "error",
            "commandId": command["id"],
            "error": "forbidden",
        }
    got = await (await client.get(f"/api/commands/{command['id']}", headers=H)).get_json()
    assert got["status"] == "delivered"


async def test_an_orchestrator_may_not_post_activity_for_another_orchestrators_agent(
    client: Any,
) -> None:
    o1 = await two_hosts(client)
    response = await client.post(
        "/api/activity", json={"title": "spoof", "agentId": "a2"}, headers=o1
    )
    assert response.status_code == 403
    own = await client.post("/api/activity", json={"title": "mine", "agentId": "a1"}, headers=o1)
    assert own.status_code == 201
    titles = [e["title"] for e in await (await client.get("/api/activity", headers=H)).get_json()]
    assert "spoof" not in titles
