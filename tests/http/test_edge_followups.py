"""Edges the first fixes left: a party's own token and its pair on the stream, a sender's
dry run, auto-merge across a repo's workspaces, a path-limited caller's own workspace
rows, replays of disabled or spawning automations, re-minting for the longest host id."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.tokens.runner_tokens import mint_runner_token
from relay.domain.orchestrators import ORCHESTRATOR_ID_MAX_LENGTH
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.integration_setup import (  # noqa: F401  (app: the app with integration ci)
    app,
    cut_off,
    deliver,
    save_automation,
)
from tests.http.sse_client import open_stream, post_activity

# -- helpers -------------------------------------------------------------------------------


async def _agent(client: Any, agent_id: str, **fields: Any) -> None:
    response = await client.post("/api/agents", json={"id": agent_id, **fields}, headers=H)
    assert response.status_code in (200, 201), await response.get_data()


async def _frames_until(stream: Any, title: str) -> list[Any]:
    frames: list[Any] = []
    while not frames or (frames[-1].data or {}).get("title") != title:
        frames.append(await stream.next_event())
    return frames


# -- 1. pair events: a party's own token ---------------------------------------------------


@pytest.mark.parametrize(
    ("sub", "role", "extra"),
    [
        ("sub-d1", "provider", {}),  # an agent-bound provider token
        ("mcp:d1", "mcp", {}),  # the agent's MCP token
        ("runner:sp_1", "provider", {"orchestrators": ["o1"]}),  # its runner token
    ],
    ids=["agent-bound", "mcp", "runner"],
)
async def test_a_partys_own_token_is_streamed_its_pair_live_and_on_replay(
    client: Any, mint: Any, sub: str, role: str, extra: dict[str, list[str]]
) -> None:
    """pairs.PairEvents admits a pair event to a caller acting for a party, as GET
    /api/pairs/:id reads it. But a pair event is published with no agent, and the stream's
    own filter withholds every event tied to no agent from a token with an ``agents``
    constraint: the party's own token (agent-bound, MCP, runner), which reads the pair
    over HTTP, is never streamed it, live or on replay."""
    await register_orchestrator(client, "o1", "/srv/o1")
    for agent_id in ("d1", "n1"):
        await _agent(client, agent_id, orchestratorId="o1", meta={"cwd": f"/srv/o1/{agent_id}"})
    scope = ["activity:read", "task:read", "task:write", "message:read", "message:write"]
    party = bearer(mint(scope, {"agents": ["d1"], **extra}, sub=sub, role=role))
    async with open_stream(client, None, party) as stream:
        created = await client.post(
            "/api/pairs", json={"driver": "d1", "navigator": "n1"}, headers=H
        )
        assert created.status_code == 201, await created.get_data()
        pair = await created.get_json()
        await post_activity(client, "end", agentId="d1")  # an event this token is shown
        live = await _frames_until(stream, "end")
    read = await client.get(f"/api/pairs/{pair['id']}", headers=party)
    assert read.status_code == 200, await read.get_data()  # it reads the pair
    assert [f.data["pair"]["id"] for f in live if f.event == "pair"] == [pair["id"]]
    async with open_stream(client, {"lastEventId": "0"}, party) as replay:
        await post_activity(client, "end-2", agentId="d1")
        replayed = await _frames_until(replay, "end-2")
    assert [f.data["pair"]["id"] for f in replayed if f.event == "pair"] == [pair["id"]]


# -- 2. a channel's dry run for its own sender ------------------------------------------


async def test_a_channel_dry_run_names_the_agents_a_senders_own_send_reaches(
    client: Any, mint: Any
) -> None:
    """messaging.md: GET /api/channels/:id/route?from= is a dry run of the send. An agent's
    own token may post to the channel (POST /api/messages answers the deliveries, agent
    ids and all), yet since d84a540 its dry run is filtered to the agents it reads (only
    itself, the sender, never a target): it predicts "no target" for a send that reaches
    two agents."""
    for agent_id in ("a1", "b1", "c1"):
        await _agent(client, agent_id, tags=["w"])
    assert (await client.post("/api/channels", json={"id": "ops"}, headers=H)).status_code == 201
    binding = {"mode": "broadcast", "targetType": "tag", "target": "w"}
    added = await client.post("/api/channels/ops/bindings", json=binding, headers=H)
    assert added.status_code == 201, await added.get_data()
    own = bearer(mint(["message:read", "message:write", "agent:read"], {"agents": ["a1"]}))
    dry = await client.get("/api/channels/ops/route?from=a1", headers=own)
    assert dry.status_code == 200, await dry.get_data()
    predicted = sorted(t["agentId"] for t in (await dry.get_json())["targets"])
    sent = await client.post("/api/messages", json={"channelId": "ops", "body": "hi"}, headers=own)
    assert sent.status_code == 201, await sent.get_data()
    delivered = sorted(d["agentId"] for d in (await sent.get_json())["deliveries"])
    assert delivered == ["b1", "c1"]
    assert predicted == delivered


# -- 3. auto-merge: a record refused its host starves its repository -------------------------


async def test_an_auto_merge_refused_its_named_host_does_not_starve_its_repos_other_workspaces(
    client: Any,
) -> None:
    """The job tries one workspace per repo per round and marks the repo tried before the
    merge is asked. A record naming a host that does not hold its paths (o2, re-registered
    elsewhere) is now refused (Forbidden, logged) every round, and every other ready
    workspace of that repo, one the job would merge on its own named host, waits forever."""
    from tests.http.test_workspaces import REPO, make_workspace

    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    await make_workspace(client, "wa", orchestratorId="o2", metadata={"autoMerge": True})
    await make_workspace(client, "wb", orchestratorId="o1", metadata={"autoMerge": True})
    for _ in range(2):
        run = await client.post("/api/maintenance/jobs/auto-merge/run", headers=H)
        assert run.status_code == 200, await run.get_data()
    wb = await (await client.get("/api/workspaces/wb", headers=H)).get_json()
    assert wb["status"] == "merge_planned", (REPO, wb["status"])


# -- 5. a path-limited caller's own workspace audits ----------------------------------------


async def test_a_path_limited_caller_reads_the_audit_of_its_own_workspace_action(
    client: Any, mint: Any
) -> None:
    """A token limited to /srv/team records a workspace within its paths (no agent, no
    host: it has neither) and reads it back over GET /api/workspaces/:id. Its own
    request-review's audit row (view orchestrators, naming neither) is now withheld from
    it in the feed: a host's view naming neither is judged by no path, though this row's
    workspace is one the caller reads whole."""
    scope = ["agent:read", "agent:write", "activity:read"]
    team = bearer(mint(scope, {"cwd": ["/srv/team"]}, sub="team-bot"))
    body = {
        "id": "wt1",
        "repoRoot": "/srv/team/repo",
        "sourceCwd": "/srv/team/repo",
        "worktreePath": "/srv/team/repo/.worktrees/wt1",
        "branch": "feature/wt1",
    }
    created = await client.post("/api/workspaces", json=body, headers=team)
    assert created.status_code == 201, await created.get_data()
    assert (await client.get("/api/workspaces/wt1", headers=team)).status_code == 200
    acted = await client.post(
        "/api/workspaces/wt1/actions", json={"action": "request-review"}, headers=team
    )
    assert acted.status_code == 200, await acted.get_data()
    everyone = await (await client.get("/api/activity?view=orchestrators", headers=H)).get_json()
    assert [e["title"] for e in everyone] == ["Workspace request-review"]
    feed = await client.get("/api/activity?view=orchestrators", headers=team)
    assert feed.status_code == 200, await feed.get_data()
    assert [e["title"] for e in await feed.get_json()] == ["Workspace request-review"]


# -- 6. integration replays ------------------------------------------------------------------


async def test_a_replay_does_not_run_an_automation_disabled_since_the_event_arrived(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tasks.md: an event dispatches each *enabled* matching automation. The pending list
    (7e46390) runs on a replay whatever the event triggered on arrival; the
    AutomationActor's Begin never looks at ``enabled``: an automation an operator disabled
    after the outage (say, it misfired) runs anyway when the integration retries."""
    await _agent(client, "a1")
    saved = await save_automation(
        client, "notify", {"type": "post_message", "to": "a1", "body": "x"}
    )
    await cut_off(client, monkeypatch, saved["id"])
    # The cut run's message was sent; the operator now disables the automation.
    inbox = await client.get("/api/agents/a1/inbox?peek=true", headers=H)
    before = len((await inbox.get_json())["items"])
    disabled = await client.patch(
        f"/api/automations/{saved['id']}", json={"enabled": False}, headers=H
    )
    assert disabled.status_code == 200, await disabled.get_data()

    replay = await deliver(client, "d-1")
    assert replay.status_code == 200, await replay.get_data()
    assert (await replay.get_json())["dispatches"] == []
    listed = await client.get(f"/api/automations/{saved['id']}/dispatches", headers=H)
    assert await listed.get_json() == []
    inbox = await client.get("/api/agents/a1/inbox?peek=true", headers=H)
    assert len((await inbox.get_json())["items"]) == before


async def test_a_replayed_spawn_agent_run_does_not_spawn_a_second_agent(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay runs again a run whose result could not be kept; 69194db made create_task
    name the task it made the first time, post_message was already so, but spawn_agent
    queues a second agent.spawn (a second session, a second runner token)."""
    await register_orchestrator(client, "o1", "/srv/o1")
    policy = {"provider": "claude", "cwd": "/srv/o1/base", "model": "opus"}
    put = await client.put("/api/config/spawn-policies/reviewer", json={"value": policy}, headers=H)
    assert put.status_code in (200, 201), await put.get_data()
    action = {"type": "spawn_agent", "orchestratorId": "o1", "policyName": "reviewer"}
    saved = await save_automation(client, "spawn-it", action)
    await cut_off(client, monkeypatch, saved["id"])

    replay = await deliver(client, "d-1")
    assert replay.status_code == 200, await replay.get_data()
    listed = await client.get("/api/commands?target=o1", headers=H)
    assert listed.status_code == 200, await listed.get_data()
    body = await listed.get_json()
    items = body["items"] if isinstance(body, dict) else body
    spawns = [c for c in items if c["type"] == "agent.spawn"]
    assert len(spawns) == 1, [c["params"]["spawnRequestId"] for c in spawns]


# -- 7. token subjects -----------------------------------------------------------------------


async def test_a_runner_token_of_an_orchestrator_with_the_longest_id_is_reminted(
    client: Any, services: Services
) -> None:
    """6b59765 caps an orchestrator id at 187 so ``orchestrator:<id>`` fits the record's
    200-character columns, but a runner re-mint records ``createdBy`` as
    ``orchestrator-remint:<id>`` (20 + 187 = 207), built outside ``issuing.issue``'s check:
    the store's column check answers 500 for an id the relay accepts."""
    longest = "o" * ORCHESTRATOR_ID_MAX_LENGTH
    registered = await register_orchestrator(client, longest, "/srv/o")
    runner, _ = await mint_runner_token(
        services.auth,
        services.runtime,
        orchestrator_id=longest,
        spawn_request_id="sp_1",
        agent_id="agent-sp_1",
    )
    response = await client.post(
        f"/api/orchestrators/{longest}/runner-token",
        json={"token": runner},
        headers=bearer(registered["token"]),
    )
    assert response.status_code == 201, await response.get_data()


async def test_the_stream_judges_a_workspace_row_by_its_place(client: Any, mint: Any) -> None:
    """As the feed: a row the relay wrote about a workspace is streamed to a caller limited
    by path when the workspace lies within its paths, and not when it lies elsewhere."""
    from tests.http.sse_client import open_stream, until_end

    scope = ["agent:read", "agent:write", "activity:read"]
    team = bearer(mint(scope, {"cwd": ["/srv/team"]}, sub="team-bot"))
    for workspace_id, root in (("mine", "/srv/team/repo"), ("theirs", "/srv/other/repo")):
        body = {"id": workspace_id, "repoRoot": root, "worktreePath": f"{root}/.wt/{workspace_id}"}
        created = await client.post("/api/workspaces", json=body, headers=H)
        assert created.status_code == 201, await created.get_data()
    async with open_stream(client, headers=team) as stream:
        for workspace_id in ("mine", "theirs"):
            acted = await client.post(
                f"/api/workspaces/{workspace_id}/actions",
                json={"action": "request-review"},
                headers=H,
            )
            assert acted.status_code == 200, await acted.get_data()
        frames = await until_end(client, stream)
    rows = [f.data for f in frames if f.event == "activity" and "workspaceId" in f.data["metadata"]]
    assert [(r["title"], r["metadata"]["workspaceId"]) for r in rows] == [
        ("Workspace request-review", "mine")
    ]


async def test_a_workspace_row_is_judged_by_its_place_case_and_all(client: Any, mint: Any) -> None:
    """``/srv/TEAM`` is not ``/srv/team`` (SQLite's LIKE would say it is): its rows stay
    out of a feed limited to /srv/team."""
    team = bearer(mint(["agent:read", "activity:read"], {"cwd": ["/srv/team"]}, sub="t"))
    root = "/srv/TEAM/repo"
    body = {"id": "upper", "repoRoot": root, "worktreePath": f"{root}/.wt/upper"}
    assert (await client.post("/api/workspaces", json=body, headers=H)).status_code == 201
    acted = await client.post(
        "/api/workspaces/upper/actions", json={"action": "request-review"}, headers=H
    )
    assert acted.status_code == 200, await acted.get_data()
    everyone = await (await client.get("/api/activity?view=orchestrators", headers=H)).get_json()
    assert [e["path"] for e in everyone] == [root]
    feed = await client.get("/api/activity?view=orchestrators", headers=team)
    assert await feed.get_json() == []
