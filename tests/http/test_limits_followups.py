"""Follow-ups to the activity, lifecycle and agent-host fixes: rows placed outside a path
limit, a poster told to name its agent, a reservation given back when nothing was written,
and the agent actor's host check for unplaced cards and patches."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors import agent
from relay.actors.agent import flows as agent_flows
from relay.domain.agents import AgentRegistration
from relay.errors import Unavailable
from relay.http import auth as http_auth
from tests.conftest import bearer, root_headers
from tests.http.helpers import poll, register_orchestrator
from tests.http.sse_client import open_stream, until_end
from tests.http.test_agent_actions import CLAUDE_META, LIFECYCLE_ALL, act, get_agent, register_agent
from tests.http.test_workspaces import action, make_workspace

H = root_headers()
JSON = dict[str, Any]


async def _feed(client: Any, headers: dict[str, str], query: str = "") -> list[JSON]:
    response = await client.get(f"/api/activity{query}", headers=headers)
    assert response.status_code == 200, await response.get_data()
    rows: list[JSON] = await response.get_json()
    return rows


# -- 1. the path-limited feed now shows rows about places outside the caller's paths ----------


async def test_a_path_limited_feed_leaves_out_a_workspace_row_placed_outside_its_paths(
    client: Any, mint: Any
) -> None:
    """A workspace of agent ``near`` (working in /srv/o1/x) lies in /srv/o2: a token limited
    to /srv/o1 may not read the workspace (``may_touch_workspace`` judges each of its paths),
    and before this change the feed withheld its rows too (``within_cwd`` on the row's
    ``path``). That filter was removed: the SQL keeps every row naming an agent the caller
    reaches, whatever place it tells of (its body is the worktree path in /srv/o2)."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    near = {"id": "near", "orchestratorId": "o1", "meta": {"cwd": "/srv/o1/x"}}
    assert (await client.post("/api/agents", json=near, headers=H)).status_code == 201
    await make_workspace(client, "w1", "/srv/o2/repo", agentId="near", orchestratorId="o2")
    acted = await action(client, "w1", action="request-review")
    assert acted.status_code == 200, await acted.get_data()

    ops = bearer(
        mint(["agent:read", "activity:read"], {"cwd": ["/srv/o1"]}, sub="ops", role="dashboard")
    )
    workspace = await client.get("/api/workspaces/w1", headers=ops)
    assert workspace.status_code in (403, 404)  # the workspace itself is not the caller's
    rows = [r for r in await _feed(client, H, "?view=orchestrators") if r.get("path")]
    assert [r["path"] for r in rows] == ["/srv/o2/repo"]  # the row exists, placed in /srv/o2
    leaked = [
        r
        for r in await _feed(client, ops, "?view=orchestrators")
        if (r.get("metadata") or {}).get("workspaceId") == "w1"
    ]
    assert leaked == [], leaked


async def test_a_path_limited_stream_leaves_out_a_workspace_row_placed_outside_its_paths(
    client: Any, mint: Any
) -> None:
    """The stream's guard judges the same row by its agent alone (``_activity``: ``path`` is
    read only for a row naming no agent), so live it was never withheld either."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    near = {"id": "near", "orchestratorId": "o1", "meta": {"cwd": "/srv/o1/x"}}
    assert (await client.post("/api/agents", json=near, headers=H)).status_code == 201
    await make_workspace(client, "w1", "/srv/o2/repo", agentId="near", orchestratorId="o2")
    ops = bearer(
        mint(["agent:read", "activity:read"], {"cwd": ["/srv/o1"]}, sub="ops", role="dashboard")
    )
    async with open_stream(client, headers=ops) as stream:
        acted = await action(client, "w1", action="request-review")
        assert acted.status_code == 200, await acted.get_data()
        frames = await until_end(client, stream)
    leaked = [
        f.data
        for f in frames
        if f.event == "activity" and (f.data.get("metadata") or {}).get("workspaceId") == "w1"
    ]
    assert leaked == [], leaked


# -- 1b. a row attributed to the one host is one its poster, limited below that host, cannot read --


async def test_a_host_and_path_limited_token_is_told_to_name_its_agent(
    client: Any, mint: Any
) -> None:
    """A dashboard limited to o1 and to /srv/o1/team posts a note naming no agent. As o1's
    row it would be judged by o1's baseDir (/srv/o1), outside the token's paths: its own
    row would be missing from its feed and a retry 409. It must name its agent instead."""
    await register_orchestrator(client, "o1", "/srv/o1")
    team = bearer(
        mint(
            ["activity:read", "activity:write", "agent:read"],
            {"orchestrators": ["o1"], "cwd": ["/srv/o1/team"]},
            sub="team",
            role="dashboard",
        )
    )
    note = {"title": "deploy started", "clientId": "team-note-1"}
    first = await client.post("/api/activity", json=note, headers=team)
    # Its paths do not cover o1's baseDir, by which a row of o1 is read: told to name its
    # agent (a row it can read back), not handed a row it could not see.
    assert (first.status_code, await first.get_json()) == (
        403,
        {"error": "a constrained token's activity must name its agentId"},
    )
    assert "deploy started" not in [r["title"] for r in await _feed(client, H)]


# -- 2. an Unavailable that stored nothing keeps the lifecycle reserved -----------------------


async def test_a_restart_refused_before_any_command_was_written_gives_the_lifecycle_back(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Minting the respawned session's runner token timed out (503): no command exists nor
    ever will, but the reservation is no longer given back on ``Unavailable``. The retry is
    409 "already in progress" and the card stays not ready with a lifecycle that names a
    command nobody will settle."""
    await register_orchestrator(client)
    await register_agent(
        client,
        orchestratorId="o1",
        meta=CLAUDE_META,
        providerCapabilities={"lifecycle": LIFECYCLE_ALL},
        ready=True,
    )

    async def store_down(*_a: Any, **_k: Any) -> Any:
        raise Unavailable("store timed out")

    with monkeypatch.context() as patched:
        patched.setattr(agent_flows, "respawn_credentials", store_down)
        first = await act(client, "restart")
        assert first.status_code == 503, await first.get_data()
    assert await poll(client) == []  # nothing was queued
    card = await get_agent(client)
    retry = await act(client, "restart")
    assert retry.status_code == 202, (await retry.get_data(), card["meta"], card["ready"])


# -- 3. the actor's host check misses a card held under no orchestrator -----------------------


async def test_a_registration_racing_an_unplaced_first_registration_does_not_adopt_it(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent registered under no orchestrator is adopted by a token limited to o2 only
    if it acts for the agent as stored (``allow_agent``: ``hosted_within``), so o2's
    registration of it is 403. The actor's new check (``Register.hosts``) refuses only a
    card held under another orchestrator: racing the first registration (the route judged
    "no such agent yet"), o2 takes the unplaced card."""
    await register_orchestrator(client, "o1", "/srv/o1")
    o2 = await register_orchestrator(client, "o2", "/srv/o2")
    card = {"id": "a1", "meta": {"cwd": "/srv/o2/repo"}}
    assert (await client.post("/api/agents", json=card, headers=H)).status_code == 201

    adopt = {"id": "a1", "orchestratorId": "o2", "meta": {"cwd": "/srv/o2/repo"}}
    refused = await client.post("/api/agents", json=adopt, headers=bearer(o2["token"]))
    assert refused.status_code == 403  # judged on the stored card

    real = http_auth.agent_placements

    async def read_before_the_first_commit(agent_ids: Any) -> Any:
        found = await real(agent_ids)
        return {k: v for k, v in found.items() if k != "a1"}

    with monkeypatch.context() as patched:
        patched.setattr(http_auth, "agent_placements", read_before_the_first_commit)
        racing = await client.post("/api/agents", json=adopt, headers=bearer(o2["token"]))
    stored = await get_agent(client)
    assert stored.get("orchestratorId") is None, (racing.status_code, stored)


async def test_a_patch_racing_a_move_to_another_host_does_not_write_that_hosts_card(
    client: Any, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """o2's token patches its agent a1; the route reads a1 as o2's, and just after that read
    an operator's re-registration moves a1 under o1 (handled by a1's actor first).
    ``Register`` now carries the caller's hosts for the actor to judge the card it holds;
    ``Patch`` does not, so o2's token rewrites the card of o1's agent (name, ready, tags,
    meta: what o1's restarts and task routing read)."""
    await register_orchestrator(client, "o1", "/srv/o1")
    o2 = await register_orchestrator(client, "o2", "/srv/o2")
    card = {"id": "a1", "orchestratorId": "o2", "meta": {"cwd": "/srv/o2/repo"}}
    assert (await client.post("/api/agents", json=card, headers=H)).status_code == 201

    real = http_auth.agent_placements
    rt = services.runtime

    async def read_then_moved(agent_ids: Any) -> Any:
        found = await real(agent_ids)  # a1 under o2: the caller's
        move = agent.Register(AgentRegistration(id="a1", orchestrator_id="o1"))
        await rt.registry.ask(agent.KIND, "a1", move)  # an operator moves it meanwhile
        return found

    with monkeypatch.context() as patched:
        patched.setattr(http_auth, "agent_placements", read_then_moved)
        racing = await client.patch(
            "/api/agents/a1", json={"name": "taken", "ready": False}, headers=bearer(o2["token"])
        )
    stored = await get_agent(client)
    assert stored["orchestratorId"] == "o1"
    assert stored["name"] != "taken", (racing.status_code, stored)
