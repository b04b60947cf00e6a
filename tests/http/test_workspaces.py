"""Workspaces and merge leases: one merge per repo at a time, never a stuck repo."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.actors.repo import flows as workspace_merge
from relay.actors.repo.auto_merge import auto_merge
from relay.actors.repo.flows import expire_merge_leases, request_workspace_merge
from relay.clock import ManualClock
from relay.domain.commands import Command, CommandSpec
from relay.domain.workspaces import MergeOptions
from relay.errors import Conflict
from relay.http.app import create_app
from relay.http.services import Services
from relay.settings import Settings
from relay.store import workspaces as workspace_store
from tests.conftest import bearer
from tests.http.helpers import H, patch_command, poll, register_orchestrator

REPO = "/srv/o1/repo"


async def make_workspace(
    client: Any, workspace_id: str = "w1", repo: str = REPO, **fields: Any
) -> dict[str, Any]:
    body = {
        "id": workspace_id,
        "repoRoot": repo,
        "sourceCwd": repo,
        "worktreePath": f"{repo}/.worktrees/{workspace_id}",
        "branch": f"feature/{workspace_id}",
        "baseRef": "main",
        "status": "ready",
        **fields,
    }
    response = await client.post("/api/workspaces", json=body, headers=H)
    assert response.status_code in (200, 201), await response.get_data()
    workspace: dict[str, Any] = (await response.get_json())["workspace"]
    return workspace


async def action(client: Any, workspace_id: str, headers: Any = None, **body: Any) -> Any:
    return await client.post(
        f"/api/workspaces/{workspace_id}/actions", json=body, headers=headers or H
    )


async def get_ws(client: Any, workspace_id: str) -> dict[str, Any]:
    body: dict[str, Any] = await (
        await client.get(f"/api/workspaces/{workspace_id}", headers=H)
    ).get_json()
    return body


async def leases(client: Any) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = await (await client.get("/api/merge-leases", headers=H)).get_json()
    return body


async def test_create_list_get_delete(client: Any) -> None:
    created = await make_workspace(client, mode="shared", metadata={"x": 1})
    assert created["status"] == "ready"
    assert created["mode"] == "shared"
    again = await client.post(
        "/api/workspaces",
        json={"id": "w1", "repoRoot": REPO, "worktreePath": f"{REPO}/w"},
        headers=H,
    )
    assert again.status_code == 200
    listing = await (await client.get(f"/api/workspaces?repoRoot={REPO}", headers=H)).get_json()
    assert [w["id"] for w in listing] == ["w1"]
    assert await (await client.get("/api/workspaces?status=merged", headers=H)).get_json() == []
    assert (await get_ws(client, "w1"))["metadata"] == {"x": 1}
    response = await client.delete("/api/workspaces/w1", headers=H)
    assert response.status_code == 200
    missing = await client.get("/api/workspaces/w1", headers=H)
    assert missing.status_code == 404
    assert await missing.get_json() == {"error": "workspace not found"}


@pytest.mark.parametrize(
    ("action_name", "status"),
    [
        ("conflict-found", "conflict"),
        ("request-review", "review_requested"),
        ("merge-plan", "merge_planned"),
        ("abandon", "abandoned"),
    ],
)
async def test_status_actions(client: Any, action_name: str, status: str) -> None:
    await make_workspace(client)
    response = await action(client, "w1", action=action_name, detail="why", agentId="a1")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["workspace"]["status"] == status
    assert body["workspace"]["metadata"]["detail"] == "why"
    activity = await (await client.get("/api/activity?view=orchestrators", headers=H)).get_json()
    assert activity[0]["title"] == f"Workspace {action_name}"
    icon = "ti-alert-triangle" if action_name == "conflict-found" else "ti-git-branch"
    assert activity[0]["icon"] == icon


async def test_status_action_returns_the_workspace_unchanged(client: Any) -> None:
    created = await make_workspace(client)
    response = await action(client, "w1", action="status")
    assert response.status_code == 200
    assert await response.get_json() == created


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"action": "explode"},
            "action must be one of status, conflict-found, request-review, "
            "merge-plan, merge, abandon, cleanup",
        ),
        ({"action": "merge", "strategy": "squash"}, "strategy must be one of pr, rebase-ff, auto"),
        ({"action": "merge", "prTitle": "t" * 241}, "prTitle must be at most 240 characters"),
        ({"action": "merge", "prBody": "b" * 8001}, "prBody must be at most 8000 characters"),
        ({}, "action is required"),
    ],
)
async def test_action_validation(client: Any, body: dict[str, Any], message: str) -> None:
    await make_workspace(client)
    response = await action(client, "w1", **body)
    assert response.status_code == 400
    assert await response.get_json() == {"error": message}
    assert await leases(client) == []


async def test_action_body_must_be_an_object(client: Any) -> None:
    await make_workspace(client)
    response = await client.post("/api/workspaces/w1/actions", json=["merge"], headers=H)
    assert response.status_code == 400
    assert await response.get_json() == {"error": "body required"}


async def test_merge_queues_the_command_and_takes_the_lease(client: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client)
    response = await action(
        client, "w1", action="merge", strategy="rebase-ff", prTitle="T", deleteBranch=False
    )
    assert response.status_code == 202
    body = await response.get_json()
    assert body["workspace"]["status"] == "merge_planned"
    command = body["command"]
    assert command["type"] == "workspace.merge"
    assert command["target"] == "o1"
    params = command["params"]
    for key in (
        "workspaceId",
        "repoRoot",
        "worktreePath",
        "branch",
        "baseRef",
        "baseSha",
        "strategy",
        "deleteBranch",
        "prTitle",
        "prBody",
        "requestedBy",
        "requestedAt",
    ):
        assert key in params
    assert (params["strategy"], params["deleteBranch"], params["prTitle"]) == (
        "rebase-ff",
        False,
        "T",
    )
    [lease] = await leases(client)
    assert (lease["repoRoot"], lease["workspaceId"], lease["commandId"]) == (
        REPO,
        "w1",
        command["id"],
    )
    assert [c["id"] for c in await poll(client)] == [command["id"]]


async def test_merge_from_a_non_mergeable_status_is_409(client: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, status="abandoned")
    response = await action(client, "w1", action="merge")
    assert response.status_code == 409
    assert await response.get_json() == {"error": "workspace is abandoned; cannot merge"}
    assert await leases(client) == []


async def test_merge_without_online_owner_releases_the_lease(client: Any) -> None:
    await make_workspace(client)
    response = await action(client, "w1", action="merge")
    assert response.status_code == 409
    assert await response.get_json() == {
        "error": "no online orchestrator available for workspace merge"
    }
    assert await leases(client) == []
    assert (await get_ws(client, "w1"))["status"] == "ready"


async def test_concurrent_merges_on_one_repo_one_wins(client: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    count = 200
    for n in range(count):
        await make_workspace(client, f"w{n}")
    results: list[tuple[str, int, Any]] = []

    async def merge(workspace_id: str) -> None:
        response = await action(client, workspace_id, action="merge")
        results.append((workspace_id, response.status_code, await response.get_json()))

    async with trio.open_nursery() as nursery:
        for n in range(count):
            nursery.start_soon(merge, f"w{n}")
    winners = [r for r in results if r[1] == 202]
    losers = [r for r in results if r[1] == 409]
    assert len(winners) == 1
    assert len(losers) == count - 1
    winner = winners[0][0]
    expected = (
        f"a merge is already in progress for {REPO} (workspace {winner}); retry after it settles"
    )
    assert {r[2]["error"] for r in losers} == {expected}
    listing = await (await client.get("/api/workspaces", headers=H)).get_json()
    untouched = [w for w in listing if w["id"] != winner]
    assert {w["status"] for w in untouched} == {"ready"}
    assert all("mergeCommandId" not in w["metadata"] for w in untouched)


async def test_many_repos_each_get_one_lease(client: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    repos = [f"/srv/o1/repo{r}" for r in range(10)]
    for r, repo in enumerate(repos):
        for n in range(5):
            await make_workspace(client, f"r{r}w{n}", repo=repo)
    codes: dict[str, list[int]] = {repo: [] for repo in repos}

    async def merge(repo: str, workspace_id: str) -> None:
        codes[repo].append((await action(client, workspace_id, action="merge")).status_code)

    async with trio.open_nursery() as nursery:
        for r, repo in enumerate(repos):
            for n in range(5):
                nursery.start_soon(merge, repo, f"r{r}w{n}")
    assert all(sorted(c) == [202, 409, 409, 409, 409] for c in codes.values())
    assert sorted(lease["repoRoot"] for lease in await leases(client)) == sorted(repos)


async def test_failure_after_acquire_releases_the_lease(client: Any, services: Services) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client)
    ws = await services.runtime.store.run(lambda: workspace_store.load("w1"))
    assert ws is not None

    async def broken(_rt: Any, _spec: CommandSpec) -> Command:
        raise RuntimeError("command store exploded")

    with pytest.raises(RuntimeError):
        await request_workspace_merge(
            services.runtime, ws, MergeOptions(requested_by="t"), create_command=broken
        )
    assert await leases(client) == []
    after = await get_ws(client, "w1")
    assert after["status"] == "ready"
    # The repo is not stuck: a real merge goes through now.
    assert (await action(client, "w1", action="merge")).status_code == 202


@pytest.mark.parametrize(
    ("status", "result", "error", "expected"),
    [
        ("succeeded", {"merged": True, "headSha": "abc"}, None, "merged"),
        ("failed", {"conflict": True, "paths": ["a.txt"]}, "merge conflict in a.txt", "conflict"),
        ("failed", None, "base is dirty", "ready"),
    ],
)
async def test_settle_moves_the_workspace_and_releases_the_lease(
    client: Any, status: str, result: Any, error: str | None, expected: str
) -> None:
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client)
    command = (await (await action(client, "w1", action="merge")).get_json())["command"]
    fields: dict[str, Any] = {"result": result} if result is not None else {}
    if error:
        fields["error"] = error
    response = await patch_command(client, command["id"], status, headers=bearer(token), **fields)
    assert response.status_code == 200
    ws = await get_ws(client, "w1")
    assert ws["status"] == expected
    if expected == "merged":
        assert ws["metadata"]["mergeResult"] == result
    if error:
        assert ws["metadata"]["mergeError"] == error
    assert await leases(client) == []


async def test_lease_ttl_expiry(client: Any, clock: ManualClock, services: Services) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client)
    await make_workspace(client, "w2")
    assert (await action(client, "w1", action="merge")).status_code == 202
    clock.advance(14 * 60)
    assert await expire_merge_leases(services.runtime) == {"expired": 0}
    clock.advance(61)
    assert await expire_merge_leases(services.runtime) == {"expired": 1}
    assert await leases(client) == []
    ws = await get_ws(client, "w1")
    assert ws["status"] == "ready"
    assert ws["metadata"]["mergeError"] == "merge lease expired before the merge settled"
    activity = await (await client.get("/api/activity", headers=H)).get_json()
    assert any(event["title"] == "Merge lease expired" for event in activity)
    assert (await action(client, "w2", action="merge")).status_code == 202


async def test_restart_keeps_a_held_lease_bound_to_its_command(
    settings: Settings, clock: ManualClock
) -> None:
    app = create_app(settings, clock=clock)
    async with app.test_app() as test_app:
        client = test_app.test_client()
        token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
        await make_workspace(client)
        await make_workspace(client, "w2")
        command = (await (await action(client, "w1", action="merge")).get_json())["command"]
    reopened = create_app(settings, clock=clock)
    async with reopened.test_app() as test_app:
        client = test_app.test_client()
        [lease] = await leases(client)
        assert lease["commandId"] == command["id"]
        assert (await action(client, "w2", action="merge")).status_code == 409
        await patch_command(client, command["id"], "succeeded", headers=bearer(token))
        assert await leases(client) == []
        assert (await get_ws(client, "w1"))["status"] == "merged"


async def test_auto_merge_and_dashboard_merge_never_both_win(
    client: Any, services: Services
) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, "w1", metadata={"autoMerge": True})
    await make_workspace(client, "w2")
    outcomes: list[Any] = []

    async def dashboard() -> None:
        outcomes.append((await action(client, "w2", action="merge")).status_code)

    async def job() -> None:
        outcomes.append(await auto_merge(services.runtime))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(dashboard)
        nursery.start_soon(job)
    [lease] = await leases(client)
    dashboard_won = 202 in outcomes
    job_result = next(o for o in outcomes if isinstance(o, dict))
    assert dashboard_won != (job_result["started"] == 1)
    assert lease["workspaceId"] == ("w2" if dashboard_won else "w1")


async def test_auto_merge_waits_for_a_held_lease(client: Any, services: Services) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, "w1")
    await make_workspace(client, "w2", metadata={"autoMerge": True})
    await make_workspace(client, "other", repo="/srv/o1/other", metadata={"autoMerge": True})
    assert (await action(client, "w1", action="merge")).status_code == 202
    assert await auto_merge(services.runtime) == {"started": 1, "waiting": 1}
    assert {lease["repoRoot"] for lease in await leases(client)} == {REPO, "/srv/o1/other"}


async def test_cleanup_routes_to_the_online_owner(client: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client)
    response = await action(client, "w1", action="cleanup")
    assert response.status_code == 202
    body = await response.get_json()
    assert body["workspace"]["status"] == "cleanup_requested"
    assert body["command"]["type"] == "workspace.cleanup"
    assert body["command"]["params"]["queued"] is False
    assert body["command"]["expiresAt"] is None


async def test_cleanup_queues_for_an_offline_owner(
    client: Any, clock: ManualClock, services: Services
) -> None:
    from relay.actors.orchestrator import reap_orchestrators

    await register_orchestrator(client, "o1", "/srv/o1")
    clock.advance(400)
    await reap_orchestrators(services.runtime)
    await make_workspace(client)
    body = await (await action(client, "w1", action="cleanup")).get_json()
    assert body["command"]["params"]["queued"] is True
    assert body["command"]["expiresAt"] is None


async def test_cleanup_without_owner_is_409(client: Any) -> None:
    await make_workspace(client)
    response = await action(client, "w1", action="cleanup")
    assert response.status_code == 409
    assert await response.get_json() == {
        "error": "no orchestrator owns this workspace path; use DELETE /api/workspaces/:id "
        "to purge the record"
    }
    assert (await get_ws(client, "w1"))["status"] == "ready"


async def test_cleanup_settles_to_cleaned(client: Any) -> None:
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client)
    command = (await (await action(client, "w1", action="cleanup")).get_json())["command"]
    await patch_command(client, command["id"], "succeeded", headers=bearer(token))
    assert (await get_ws(client, "w1"))["status"] == "cleaned"


async def test_failed_cleanup_restores_the_status(client: Any) -> None:
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client)
    command = (await (await action(client, "w1", action="cleanup")).get_json())["command"]
    await patch_command(
        client, command["id"], "failed", headers=bearer(token), error="dirty: a.txt"
    )
    ws = await get_ws(client, "w1")
    assert ws["status"] == "ready"
    assert ws["metadata"]["cleanupError"] == "dirty: a.txt"


async def reconcile(client: Any, token: str, result: dict[str, Any]) -> None:
    response = await client.post(
        "/api/commands",
        json={"type": "workspace.reconcile", "target": "o1", "params": {"workspaceId": "w1"}},
        headers=H,
    )
    command = (await response.get_json())["command"]
    settled = await patch_command(
        client, command["id"], "succeeded", headers=bearer(token), result=result
    )
    assert settled.status_code == 200


async def test_reconcile_removed_deletes_the_row(client: Any) -> None:
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client, status="active")
    await reconcile(client, token, {"workspaceId": "w1", "status": "ready", "removed": True})
    assert (await client.get("/api/workspaces/w1", headers=H)).status_code == 404
    activity = await (await client.get("/api/activity", headers=H)).get_json()
    assert any(event["title"] == "Workspace removed (no changes)" for event in activity)


async def test_reconcile_sets_status_only_when_live(client: Any) -> None:
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client, status="active")
    await reconcile(client, token, {"workspaceId": "w1", "status": "ready"})
    ws = await get_ws(client, "w1")
    assert ws["status"] == "ready"
    assert ws["metadata"]["reconcileResult"] == {"workspaceId": "w1", "status": "ready"}
    assert "reconcileCommandId" in ws["metadata"]
    await action(client, "w1", action="abandon")
    await reconcile(client, token, {"workspaceId": "w1", "status": "ready", "removed": True})
    assert (await get_ws(client, "w1"))["status"] == "abandoned"


async def test_force_release_needs_token_admin(client: Any, mint: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client)
    command = (await (await action(client, "w1", action="merge")).get_json())["command"]
    writer = bearer(mint(["command:read", "command:write"]))
    response = await client.delete(f"/api/merge-leases?repoRoot={REPO}", headers=writer)
    assert response.status_code == 403
    response = await client.delete(f"/api/merge-leases?repoRoot={REPO}", headers=H)
    assert response.status_code == 200
    assert (await response.get_json())["released"]["commandId"] == command["id"]
    assert await leases(client) == []
    again = await client.delete(f"/api/merge-leases?repoRoot={REPO}", headers=H)
    assert again.status_code == 404
    assert await again.get_json() == {"error": "merge lease not found"}
    # The bound command settles later and finds no lease to release.
    settled = await patch_command(client, command["id"], "succeeded")
    assert settled.status_code == 200
    assert (await get_ws(client, "w1"))["status"] == "merged"


@pytest.mark.parametrize("path", ["/srv/ab/repo", "/srv/a/../b/repo"])
async def test_cwd_constraint_does_not_leak(client: Any, mint: Any, path: str) -> None:
    await make_workspace(client, "w1", repo=path)
    token = bearer(mint(["agent:read", "agent:write", "command:write"], {"cwd": ["/srv/a"]}))
    response = await action(client, "w1", headers=token, action="abandon")
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}
    assert (await client.get("/api/workspaces/w1", headers=token)).status_code == 403
    assert await (await client.get("/api/workspaces", headers=token)).get_json() == []


async def test_merge_needs_command_write(client: Any, mint: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client)
    agent_writer = bearer(mint(["agent:read", "agent:write"]))
    response = await action(client, "w1", headers=agent_writer, action="merge")
    assert response.status_code == 403
    assert (await action(client, "w1", headers=agent_writer, action="abandon")).status_code == 200


async def test_direct_merge_request_reports_conflict(client: Any, services: Services) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client)
    await make_workspace(client, "w2")
    await action(client, "w1", action="merge")
    ws2 = await services.runtime.store.run(lambda: workspace_store.load("w2"))
    assert ws2 is not None
    with pytest.raises(Conflict, match="a merge is already in progress"):
        await workspace_merge.request_workspace_merge(
            services.runtime, ws2, MergeOptions(requested_by="t")
        )


async def test_a_workspace_of_another_orchestrators_agent_is_not_an_orchestrator_tokens(
    client: Any, mint: Any
) -> None:
    """A workspace belongs to its agent as stored, and so to that agent's orchestrator:
    a token limited to o1 touches no workspace of o2's agent, though the record names no
    orchestrator of its own (as allow_agent judges the agent itself)."""
    response = await client.post(
        "/api/agents", json={"id": "a2", "orchestratorId": "o2"}, headers=H
    )
    assert response.status_code == 201
    await make_workspace(client, "w2", repo="/srv/shared/repo", agentId="a2")
    limited = bearer(mint(["agent:read", "agent:write"], {"orchestrators": ["o1"]}))
    response = await client.get("/api/workspaces/w2", headers=limited)
    assert response.status_code == 403
    response = await client.get("/api/workspaces", headers=limited)
    assert await response.get_json() == []
    response = await action(client, "w2", limited, action="abandon")
    assert response.status_code == 403
    response = await client.delete("/api/workspaces/w2", headers=limited)
    assert response.status_code == 403
    assert (await get_ws(client, "w2"))["status"] == "ready"
    # Its own orchestrator's agent's workspace it touches.
    own = bearer(mint(["agent:read", "agent:write"], {"orchestrators": ["o2"]}))
    assert (await client.get("/api/workspaces/w2", headers=own)).status_code == 200
    assert len(await (await client.get("/api/workspaces", headers=own)).get_json()) == 1


async def test_a_constrained_token_admin_releases_only_leases_within_its_cwd(
    client: Any, mint: Any
) -> None:
    """Force-releasing a merge lease lets a second merge of that repository start while
    the first runs: a token:admin limited to /srv/o1 releases no lease of /srv/o2, which
    GET /api/merge-leases does not even show it."""
    await register_orchestrator(client, "o2", "/srv/o2")
    await make_workspace(client, "w2", repo="/srv/o2/repo")
    assert (await action(client, "w2", action="merge")).status_code == 202
    admin = bearer(mint(["token:admin", "command:read"], {"cwd": ["/srv/o1"]}))
    assert await (await client.get("/api/merge-leases", headers=admin)).get_json() == []
    response = await client.delete(
        "/api/merge-leases", query_string={"repoRoot": "/srv/o2/repo"}, headers=admin
    )
    assert response.status_code == 403
    assert [lease["repoRoot"] for lease in await leases(client)] == ["/srv/o2/repo"]
