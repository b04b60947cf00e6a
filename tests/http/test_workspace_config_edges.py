"""Workspaces, merge leases and the config store at their edges: auto-merge and the
host a record names, creates racing, an abandon during a merge, host rows under a path
limit, policy writes and events under narrow constraints, the contract's order of 409s."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, poll, register_orchestrator
from tests.http.test_workspaces import get_ws

O2_REPO = "/srv/o2/repo"
COMMANDS = ["agent:read", "agent:write", "command:read", "command:write"]


async def test_auto_merge_sends_no_merge_to_a_host_the_recording_token_does_not_cover(
    client: Any, mint: Any
) -> None:
    """A token limited to orchestrator o1 may record an o1 workspace whose paths lie in o2's
    baseDir (its own merge of it is refused: the command would go to o2). Opting it into
    auto-merge must not have the job queue that very merge on o2 instead."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    limited = bearer(mint(COMMANDS, {"orchestrators": ["o1"]}))
    created = await client.post(
        "/api/workspaces",
        json={
            "id": "wx",
            "orchestratorId": "o1",
            "repoRoot": O2_REPO,
            "worktreePath": f"{O2_REPO}/.worktrees/wx",
            "branch": "feature/wx",
            "status": "ready",
            "metadata": {"autoMerge": True},
        },
        headers=limited,
    )
    assert created.status_code == 201, await created.get_data()
    # Its own merge request is refused: o2 is not a host it covers.
    refused = await client.post(
        "/api/workspaces/wx/actions", json={"action": "merge"}, headers=limited
    )
    assert refused.status_code == 403
    run = await client.post("/api/maintenance/jobs/auto-merge/run", headers=H)
    assert run.status_code == 200
    queued_on_o2 = [c["type"] for c in await poll(client, "o2")]
    assert queued_on_o2 == []
    assert (await get_ws(client, "wx"))["status"] == "ready"


async def test_auto_merge_needs_a_recorder_that_may_merge(client: Any, mint: Any) -> None:
    """``merge`` needs ``command:write``; a token holding only ``agent:write`` may record a
    ready workspace, but opting it into auto-merge asks the job to merge it on its behalf:
    refused as its own merge is, and nothing is recorded; the job merges nothing."""
    await register_orchestrator(client, "o1", "/srv/o1")
    writer = bearer(mint(["agent:read", "agent:write"], {"cwd": ["/srv/o1"]}))
    repo = "/srv/o1/repo"
    body = {
        "id": "wa",
        "repoRoot": repo,
        "worktreePath": f"{repo}/.worktrees/wa",
        "branch": "feature/wa",
        "status": "active",
    }
    opted = await client.post(
        "/api/workspaces", json={**body, "metadata": {"autoMerge": True}}, headers=writer
    )
    assert opted.status_code == 403, await opted.get_data()
    assert (await client.get("/api/workspaces/wa", headers=H)).status_code == 404
    created = await client.post("/api/workspaces", json=body, headers=writer)
    assert created.status_code == 201, await created.get_data()
    # Nor by an action's metadata, which is merged into the record's.
    ready = await client.post(
        "/api/workspaces/wa/actions",
        json={"action": "request-review", "metadata": {"autoMerge": True}},
        headers=writer,
    )
    assert ready.status_code == 403, await ready.get_data()
    refused = await client.post(
        "/api/workspaces/wa/actions", json={"action": "merge"}, headers=writer
    )
    assert refused.status_code == 403
    run = await client.post("/api/maintenance/jobs/auto-merge/run", headers=H)
    assert run.status_code == 200
    assert [c["type"] for c in await poll(client, "o1")] == []
    assert (await get_ws(client, "wa"))["metadata"] == {}


async def test_config_changed_of_a_policy_the_caller_may_not_read_is_not_streamed(
    client: Any, mint: Any
) -> None:
    """A token limited to policy p1 is refused policy p2 (403) and does not see it listed;
    the stream must not tell it that p2 exists, nor each of its versions."""
    from tests.http.sse_client import open_stream, until_end

    limited = bearer(
        mint(["config:read", "activity:read"], {"policyNames": ["p1"]}, role="dashboard")
    )
    url = "/api/config/spawn-policies"
    async with open_stream(client, headers=limited) as stream:
        for name in ("p1", "p2"):
            value = {"provider": "claude", "cwd": f"/srv/{name}"}
            put = await client.put(f"{url}/{name}", json={"value": value}, headers=H)
            assert put.status_code == 201
        frames = await until_end(client, stream)
    assert (await client.get(f"{url}/p2", headers=limited)).status_code == 403
    listed = [e["key"] for e in await (await client.get(url, headers=limited)).get_json()]
    assert listed == ["p1"]
    streamed = [f.data["key"] for f in frames if f.event == "config-changed"]
    assert streamed == ["p1"]


async def test_a_path_limited_token_reads_no_audit_of_a_workspace_outside_its_paths(
    client: Any, mint: Any
) -> None:
    """A token limited to ``/srv/o1`` may not read o2's workspace (403, not listed); the
    audit rows of its actions (worktree path, repository, branch, who asked) must not reach
    it through the activity feed either."""
    from tests.http.test_workspaces import action, make_workspace

    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    await make_workspace(client, "w2", O2_REPO)  # recorded as a host records it: no agent
    assert (await action(client, "w2", action="merge")).status_code == 202
    limited = bearer(mint(["agent:read", "activity:read"], {"cwd": ["/srv/o1"]}))
    assert (await client.get("/api/workspaces/w2", headers=limited)).status_code == 403
    feed = await (await client.get("/api/activity?limit=1000", headers=limited)).get_json()
    leaked = [
        row["title"] for row in feed if (row.get("metadata") or {}).get("workspaceId") == "w2"
    ]
    assert leaked == []


async def test_a_workspace_abandoned_while_its_merge_is_planned_is_not_merged(
    client: Any, services: Any, monkeypatch: Any
) -> None:
    """The merge takes the lease (Acquire) and then plans the workspace (PlanMerge): two
    messages to the repo's actor, between which any other message may run. An ``abandon``
    landing there leaves the workspace abandoned; the plan must not then move an abandoned
    workspace to merge_planned and queue its merge."""
    from relay.actors.repo import messages as msg
    from tests.http.test_workspaces import action, make_workspace

    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, "w1")
    registry = services.runtime.registry
    ask = registry.ask
    abandoned: list[int] = []

    async def abandon_in_between(kind: str, key: str, message: Any, **kwargs: Any) -> Any:
        if isinstance(message, msg.PlanMerge) and not abandoned:
            response = await action(client, "w1", action="abandon")
            abandoned.append(response.status_code)
        return await ask(kind, key, message, **kwargs)

    monkeypatch.setattr(registry, "ask", abandon_in_between)
    merge = await action(client, "w1", action="merge")
    assert abandoned == [200]
    assert merge.status_code == 409, await merge.get_data()
    assert await merge.get_json() == {"error": "workspace is abandoned; cannot merge"}
    assert (await get_ws(client, "w1"))["status"] == "abandoned"
    assert [c["type"] for c in await poll(client, "o1")] == []
    assert await (await client.get("/api/merge-leases", headers=H)).get_json() == []


async def test_a_create_racing_another_owners_create_of_the_id_gets_no_record_of_it(
    client: Any, mint: Any, monkeypatch: Any
) -> None:
    """Re-posting an id another owner recorded is 403 (``create_workspace`` authorizes the
    stored record first). Two creates of one id in one repository at once: the one whose
    record lands second read no record before it, and the repo actor hands it the other
    owner's record (200) unjudged. It must be refused as the re-post is.

    The interleaving: the other owner's create lands between this create's read of the
    store and its ask to the repo actor (its read is made to see the store as it was)."""
    from relay.store import workspaces as workspace_store

    repo = "/srv/shared/repo"
    limited = bearer(mint(COMMANDS, {"orchestrators": ["o1"]}))
    body = {"id": "wz", "repoRoot": repo, "worktreePath": f"{repo}/.worktrees/wz"}
    theirs = {**body, "orchestratorId": "o2", "agentId": "secret-agent", "branch": "secret/b"}
    assert (await client.post("/api/workspaces", json=theirs, headers=H)).status_code == 201
    real_load = workspace_store.load
    reads: list[str] = []

    async def before_theirs_landed(workspace_id: str) -> Any:
        if not reads:
            reads.append(workspace_id)
            return None
        return await real_load(workspace_id)

    monkeypatch.setattr(workspace_store, "load", before_theirs_landed)
    mine = await client.post(
        "/api/workspaces", json={**body, "orchestratorId": "o1"}, headers=limited
    )
    assert reads == ["wz"]
    assert mine.status_code == 403, await mine.get_data()
    assert await mine.get_json() == {"error": "forbidden"}
    again = await client.post(
        "/api/workspaces", json={**body, "orchestratorId": "o1"}, headers=limited
    )
    assert again.status_code == 403


async def test_merge_reports_the_held_lease_before_the_missing_owner(
    client: Any, clock: Any, services: Any
) -> None:
    """The contract's order: acquire the repo's lease first (held → 409 "a merge is already
    in progress …"), then look for an online owner."""
    from relay.actors.orchestrator import reap_orchestrators
    from tests.http.test_workspaces import REPO, action, make_workspace

    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, "w1")
    await make_workspace(client, "w2")
    assert (await action(client, "w1", action="merge")).status_code == 202
    clock.advance(400)  # o1 goes offline; the lease (900 s) is still held
    await reap_orchestrators(services.runtime)
    response = await action(client, "w2", action="merge")
    assert response.status_code == 409
    assert await response.get_json() == {
        "error": f"a merge is already in progress for {REPO} (workspace w1); retry after it settles"
    }


async def test_a_token_limited_to_spawn_requests_alone_writes_no_policy(
    client: Any, mint: Any
) -> None:
    """As a token limited to agents or to orchestrators alone: one limited to some spawn
    requests, with no ``policyNames`` or ``cwd`` bounding which policy or where, must not
    re-point every host's shared policy (its restarts and automations spawn by it)."""
    url = "/api/config/spawn-policies/shared"
    value = {"provider": "claude", "cwd": "/srv/o2/app"}
    assert (await client.put(url, json={"value": value}, headers=H)).status_code == 201
    token = bearer(mint(["config:read", "config:write"], {"spawnRequestIds": ["sp_1"]}))
    moved = {"provider": "claude", "cwd": "/", "providerArgs": ["--dangerously-skip-permissions"]}
    for response in (
        await client.put(url, json={"value": moved}, headers=token),
        await client.delete(url, headers=token),
    ):
        assert (response.status_code, await response.get_json()) == (403, {"error": "forbidden"})
    stored = await (await client.get(url, headers=H)).get_json()
    assert (stored["version"], stored["value"]) == (1, value)
