"""A token limited by ``cwd`` to /srv/o1 reads nothing that names an agent working in
/srv/o2 (``far``) or one that recorded no cwd (``nowhere``): not an orchestrator's command
about it (``params.agentId``), nor a workspace recorded for it, in the routes and on the
stream; while o1's runtime token and an agent's own token still reach their agents."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, create_command, poll
from tests.http.sse_client import open_stream, until_end
from tests.http.test_acts_for_cwd import FAR, NEAR, NOWHERE, hosts
from tests.http.test_manage_agents_cwd import FORBIDDEN, ops, outcome


async def test_a_path_limited_operator_reads_no_orchestrator_command_about_an_agent_outside(
    client: Any, mint: Any
) -> None:
    """A command to an orchestrator about an agent (``params.agentId``, as agent actions
    and agent.stop make): creating it needs ``allow_agent`` on that agent, which the token
    is refused; reading it must be refused too ("a read never reaches further than a
    create")."""
    await hosts(client)
    token = ops(mint)
    leaks = []
    for agent_id, owner in ((FAR, "o2"), (NOWHERE, "o1")):
        # Creating it is refused to the token ...
        response = await client.post(
            "/api/commands",
            json={"type": "test.noop", "target": owner, "params": {"agentId": agent_id}},
            headers=token,
        )
        assert await outcome(response) == FORBIDDEN, agent_id
        # ... reading it must be as well.
        sent = await create_command(client, owner, params={"agentId": agent_id})
        response = await client.get(f"/api/commands/{sent['id']}", headers=token)
        if response.status_code != 403:
            leaks.append(("GET /api/commands/:id", agent_id))
        listed = await (await client.get("/api/commands", headers=token)).get_json()
        if sent["id"] in [c["id"] for c in listed]:
            leaks.append(("GET /api/commands", agent_id))
        url = f"/api/commands?agentId={agent_id}"
        if await (await client.get(url, headers=token)).get_json():
            leaks.append(("GET /api/commands?agentId=", agent_id))
    assert not leaks, leaks


async def test_a_path_limited_operator_reads_no_action_command_of_an_agent_outside(
    client: Any, mint: Any
) -> None:
    """The same through the agent actions route: root shuts down ``far-run`` (a runner-managed
    agent in /srv/o2/r, so the action goes to o2 as a command whose params name it and no
    path). The token may not read the agent's card, yet reads the shutdown of it."""
    await hosts(client)
    body = {
        "id": "far-run",
        "orchestratorId": "o2",
        "meta": {"cwd": "/srv/o2/r", "runnerManaged": True, "sessionName": "relay-x"},
    }
    response = await client.post("/api/agents", json=body, headers=H)
    assert response.status_code == 201, await response.get_data()
    response = await client.post(
        "/api/agents/far-run/actions", json={"action": "shutdown"}, headers=H
    )
    assert response.status_code == 202, await response.get_data()
    command = (await response.get_json())["command"]
    token = ops(mint)
    assert (await client.get("/api/agents/far-run", headers=token)).status_code == 403
    response = await client.get(f"/api/commands/{command['id']}", headers=token)
    assert await outcome(response) == FORBIDDEN, command
    listed = await (await client.get("/api/commands?agentId=far-run", headers=token)).get_json()
    assert listed == []


async def test_the_stream_carries_no_orchestrator_command_about_an_agent_outside(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    async with open_stream(client, headers=ops(mint)) as stream:
        await create_command(client, "o2", params={"agentId": FAR})
        await create_command(client, "o1", params={"agentId": NOWHERE})
        frames = await until_end(client, stream)
    about = [f.data["command"]["params"].get("agentId") for f in frames if f.event == "command"]
    assert about == []


async def _workspace(client: Any, ws_id: str, agent_id: str, orchestrator_id: str) -> None:
    body = {
        "id": ws_id,
        "agentId": agent_id,
        "orchestratorId": orchestrator_id,
        "repoRoot": "/srv/o1/repo",
        "worktreePath": f"/srv/o1/wt/{ws_id}",
    }
    response = await client.post("/api/workspaces", json=body, headers=H)
    assert response.status_code == 201, await response.get_data()


async def test_a_path_limited_operator_reads_no_workspace_of_an_agent_outside(
    client: Any, mint: Any
) -> None:
    """A workspace (its paths within /srv/o1) recorded for ``nowhere`` or ``far``: the
    token may not record it itself (``allow_agent`` on its agent), yet reads, lists and
    deletes it: ``may_touch_workspace`` still judges its agent by id and orchestrator
    only, not where it is stored as ``allow_agent`` now does."""
    await hosts(client)
    token = ops(mint)
    leaks = []
    for ws_id, agent_id, owner in (("ws-nowhere", NOWHERE, "o1"), ("ws-far", FAR, "o2")):
        body = {
            "id": f"{ws_id}-by-token",
            "agentId": agent_id,
            "orchestratorId": owner,
            "repoRoot": "/srv/o1/repo",
            "worktreePath": f"/srv/o1/wt/{ws_id}-t",
        }
        response = await client.post("/api/workspaces", json=body, headers=token)
        assert await outcome(response) == FORBIDDEN, agent_id  # may not record it ...
        await _workspace(client, ws_id, agent_id, owner)
        response = await client.get(f"/api/workspaces/{ws_id}", headers=token)
        if response.status_code == 200:
            leaks.append(("GET /api/workspaces/:id", agent_id))
        listed = await (
            await client.get(f"/api/workspaces?agentId={agent_id}", headers=token)
        ).get_json()
        if listed:
            leaks.append(("GET /api/workspaces?agentId=", agent_id))
        response = await client.delete(f"/api/workspaces/{ws_id}", headers=token)
        if response.status_code == 200:
            leaks.append(("DELETE /api/workspaces/:id", agent_id))
    assert not leaks, leaks


async def test_legitimate_use_still_works(client: Any, mint: Any) -> None:
    """Not a hole: o1's runtime token reaches its agents (``nowhere`` recording no cwd
    included), and an agent's own token reaches itself."""
    runtime = await hosts(client)
    for agent_id in (NEAR, NOWHERE):
        for call in (
            client.get(f"/api/agents/{agent_id}", headers=runtime),
            client.post(f"/api/agents/{agent_id}/heartbeat", json={}, headers=runtime),
            client.patch(f"/api/agents/{agent_id}", json={"ready": True}, headers=runtime),
            client.post(
                "/api/agents",
                json={"id": agent_id, "orchestratorId": "o1"},
                headers=runtime,
            ),
        ):
            response = await call
            assert response.status_code in (200, 201), (agent_id, await response.get_data())
        await create_command(client, agent_id, headers=runtime)
        response = await client.get(f"/api/agents/{agent_id}/commands", headers=runtime)
        assert response.status_code == 200, await response.get_data()
        assert len(await response.get_json()) == 1
        listed = await (await client.get("/api/agents", headers=runtime)).get_json()
        assert agent_id in [a["id"] for a in listed]
    await poll(client, "o1", headers=runtime)
    own = bearer(
        mint(
            ["agent:read", "agent:write", "command:read"],
            {"agents": [NOWHERE], "cwd": ["/srv/o1"]},
            sub=NOWHERE,
        )
    )
    assert (await client.get(f"/api/agents/{NOWHERE}", headers=own)).status_code == 200
    response = await client.post(f"/api/agents/{NOWHERE}/heartbeat", json={}, headers=own)
    assert response.status_code == 200
    response = await client.get(f"/api/agents/{NOWHERE}/commands", headers=own)
    assert response.status_code == 200


async def test_the_stream_carries_no_workspace_of_an_agent_outside(client: Any, mint: Any) -> None:
    await hosts(client)
    async with open_stream(client, headers=ops(mint)) as stream:
        await _workspace(client, "ws-nowhere", NOWHERE, "o1")
        await _workspace(client, "ws-far", FAR, "o2")
        frames = await until_end(client, stream)
    agents = [f.data["workspace"]["agentId"] for f in frames if f.event == "workspace"]
    assert agents == []
