"""Workspace commands stay inside a token's constraints: what a settle moves is the
workspace its creator was authorized on, a merge or cleanup goes only to a host the
caller covers, a token limited to agents reaches only its agents' workspaces, and a
cancel needs what creating the command needs."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, patch_command, poll, register_orchestrator
from tests.http.sse_client import open_stream, until_end
from tests.http.test_ownership import two_hosts
from tests.http.test_workspaces import action, get_ws, leases, make_workspace

O1_REPO = "/srv/o1/repo"
O2_REPO = "/srv/o2/repo"
COMMANDS = ["agent:read", "agent:write", "command:read", "command:write"]


async def o1_record_under_o2(client: Any, workspace_id: str, headers: Any) -> None:
    """A ready workspace recorded under o1 whose paths lie in o2's base dir."""
    response = await client.post(
        "/api/workspaces",
        json={
            "id": workspace_id,
            "orchestratorId": "o1",
            "repoRoot": O2_REPO,
            "worktreePath": f"{O2_REPO}/.worktrees/{workspace_id}",
            "branch": f"feature/{workspace_id}",
            "status": "ready",
        },
        headers=headers,
    )
    assert response.status_code == 201


async def reconcile(client: Any, headers: Any, params: dict[str, Any]) -> Any:
    return await client.post(
        "/api/commands",
        json={"type": "workspace.reconcile", "target": "o1", "params": params},
        headers=headers,
    )


async def test_an_orchestrator_reconciles_only_its_own_workspaces(client: Any) -> None:
    o1 = await two_hosts(client)
    await make_workspace(client, "w2", O2_REPO, agentId="a2", orchestratorId="o2")
    await make_workspace(client, "w4", O2_REPO, agentId="a2", orchestratorId="o2")
    await make_workspace(client, "w1", O1_REPO, agentId="a1", orchestratorId="o1")

    # Naming o2's workspace in a reconcile of its own is refused at creation.
    refused = await reconcile(client, o1, {"workspaceId": "w2"})
    assert refused.status_code == 403
    # One naming no workspace, whose result names o2's, moves nothing on settle.
    created = await reconcile(client, o1, {})
    assert created.status_code == 201
    command = (await created.get_json())["command"]
    settled = await patch_command(
        client,
        command["id"],
        "succeeded",
        headers=o1,
        result={"workspaceId": "w4", "removed": True},
    )
    assert settled.status_code == 200
    assert ((await get_ws(client, "w2"))["status"], (await get_ws(client, "w4"))["status"]) == (
        "ready",
        "ready",
    )

    # Its own workspace reconciles as before.
    own = await reconcile(client, o1, {"workspaceId": "w1", "repoRoot": O1_REPO})
    assert own.status_code == 201
    command = (await own.get_json())["command"]
    await patch_command(client, command["id"], "succeeded", headers=o1, result={"removed": True})
    assert (await client.get("/api/workspaces/w1", headers=H)).status_code == 404


async def test_a_merge_or_cleanup_goes_only_to_a_host_the_caller_covers(
    client: Any, mint: Any
) -> None:
    """The command goes to the host whose baseDir holds the paths, not to the orchestrator
    the record names: a token limited to o1 (no cwd) records o1 workspaces under o2's base
    dir, then its merge and cleanup are refused, and o2's queue stays empty."""
    await two_hosts(client)
    limited = bearer(mint(COMMANDS, {"orchestrators": ["o1"]}))
    for workspace_id, name in (("wx", "cleanup"), ("wy", "merge")):
        await o1_record_under_o2(client, workspace_id, limited)
        refused = await action(client, workspace_id, limited, action=name)
        assert (refused.status_code, await refused.get_json()) == (403, {"error": "forbidden"})
        assert (await get_ws(client, workspace_id))["status"] == "ready"
    assert await poll(client, "o2") == []
    assert await leases(client) == []

    # On its own host it merges as before.
    await make_workspace(client, "w1", O1_REPO, orchestratorId="o1")
    merged = await action(client, "w1", limited, action="merge")
    assert merged.status_code == 202
    assert [c["type"] for c in await poll(client, "o1")] == ["workspace.merge"]


async def test_a_token_limited_to_agents_reaches_only_its_agents_workspaces(
    client: Any, mint: Any
) -> None:
    """The daemon records a ``workspace.create`` worktree with its orchestrator and no
    agent: such a workspace is the host's, not any agent's."""
    await two_hosts(client)
    for workspace_id in ("w2", "w3", "w4"):
        await make_workspace(client, workspace_id, O2_REPO, orchestratorId="o2")
    await make_workspace(client, "w1", O1_REPO, agentId="a1", orchestratorId="o1")
    a1 = bearer(mint(COMMANDS, {"agents": ["a1"]}))
    statuses = {
        "get": (await client.get("/api/workspaces/w2", headers=a1)).status_code,
        "list": [
            ws["id"] for ws in await (await client.get("/api/workspaces", headers=a1)).get_json()
        ],
        "abandon": (await action(client, "w2", a1, action="abandon")).status_code,
        "merge": (await action(client, "w3", a1, action="merge")).status_code,
        "cleanup": (await action(client, "w4", a1, action="cleanup")).status_code,
        "delete": (await client.delete("/api/workspaces/w2", headers=a1)).status_code,
    }
    assert statuses == {
        "get": 403,
        "list": ["w1"],
        "abandon": 403,
        "merge": 403,
        "cleanup": 403,
        "delete": 403,
    }
    assert await poll(client, "o2") == []
    assert (await client.get("/api/workspaces/w1", headers=a1)).status_code == 200


async def test_a_cancel_needs_what_creating_the_command_needs(client: Any, mint: Any) -> None:
    """Cancelling a merge frees its lease and puts its workspace back: a token limited to
    /srv/o1, refused that merge command, may not cancel it either."""
    await register_orchestrator(client, "o2", "/srv/o2")
    await make_workspace(client, "w2", O2_REPO, orchestratorId="o2")
    merging = await action(client, "w2", action="merge")
    command = (await merging.get_json())["command"]
    limited = bearer(mint(["command:read", "command:write"], {"cwd": ["/srv/o1"]}))
    created = await client.post(
        "/api/commands",
        json={"type": "workspace.merge", "target": "o2", "params": command["params"]},
        headers=limited,
    )
    assert created.status_code == 403
    cancel = await patch_command(client, command["id"], "cancelled", headers=limited)
    assert (cancel.status_code, await cancel.get_json()) == (403, {"error": "forbidden"})
    assert (await get_ws(client, "w2"))["status"] == "merge_planned"
    assert [lease["workspaceId"] for lease in await leases(client)] == ["w2"]

    # One covering its params cancels it.
    covering = bearer(mint(["command:read", "command:write"], {"cwd": ["/srv/o2"]}))
    cancel = await patch_command(client, command["id"], "cancelled", headers=covering)
    assert cancel.status_code == 200
    assert (await get_ws(client, "w2"))["status"] == "ready"
    assert await leases(client) == []


async def test_a_reconcile_settles_only_a_workspace_of_the_host_it_went_to(
    client: Any, mint: Any
) -> None:
    """The settle finds its workspace by id when it comes. A constrained caller may not
    name an id nothing is recorded under yet (one recorded meanwhile may be another
    owner's), and a reconcile reported by a host other than the workspace's moves
    nothing, whoever queued it."""
    o1 = await two_hosts(client)
    refused = await reconcile(client, o1, {"workspaceId": "w-later"})
    assert (refused.status_code, await refused.get_json()) == (403, {"error": "forbidden"})

    created = await reconcile(client, H, {"workspaceId": "w-later"})  # root may
    assert created.status_code == 201
    command = (await created.get_json())["command"]
    await make_workspace(client, "w-later", O2_REPO, agentId="a2", orchestratorId="o2")
    settled = await patch_command(
        client, command["id"], "succeeded", headers=o1, result={"removed": True}
    )
    assert settled.status_code == 200
    assert (await get_ws(client, "w-later"))["status"] == "ready"


async def test_a_refused_merge_never_holds_the_lease(client: Any, mint: Any) -> None:
    """The owner is judged before the lease is taken: no lease event, no 409 meanwhile."""
    await two_hosts(client)
    limited = bearer(mint(COMMANDS, {"orchestrators": ["o1"]}))
    await o1_record_under_o2(client, "wy", limited)
    async with open_stream(client) as stream:  # root: every lease event
        refused = await action(client, "wy", limited, action="merge")
        assert refused.status_code == 403
        frames = await until_end(client, stream)
    assert [f.data for f in frames if f.event == "lease"] == []


async def test_a_token_limited_by_orchestrator_reaches_no_workspace_of_no_host(
    client: Any, mint: Any
) -> None:
    """A record naming no orchestrator and no agent stored under one is on no host: a
    token limited to o1 neither reads, lists, changes, records nor streams it (``covers``
    skips the missing orchestrator). One naming o1's agent is o1's."""
    await two_hosts(client)
    limited = bearer(mint([*COMMANDS, "activity:read"], {"orchestrators": ["o1"]}))
    async with open_stream(client, headers=limited) as stream:
        await make_workspace(client, "w0", O1_REPO)
        await make_workspace(client, "w1", O1_REPO, agentId="a1")
        frames = await until_end(client, stream)
    assert [f.data["workspace"]["id"] for f in frames if f.event == "workspace"] == ["w1"]
    listed = await (await client.get("/api/workspaces", headers=limited)).get_json()
    statuses = {
        "list": [ws["id"] for ws in listed],
        "get": (await client.get("/api/workspaces/w0", headers=limited)).status_code,
        "abandon": (await action(client, "w0", limited, action="abandon")).status_code,
        "delete": (await client.delete("/api/workspaces/w0", headers=limited)).status_code,
        "own": (await client.get("/api/workspaces/w1", headers=limited)).status_code,
    }
    assert statuses == {"list": ["w1"], "get": 403, "abandon": 403, "delete": 403, "own": 200}
    assert (await get_ws(client, "w0"))["status"] == "ready"
    recorded = await client.post(
        "/api/workspaces",
        json={"repoRoot": O1_REPO, "worktreePath": f"{O1_REPO}/.worktrees/w9", "branch": "b"},
        headers=limited,
    )
    assert recorded.status_code == 403
    everything = await (await client.get("/api/workspaces", headers=H)).get_json()
    assert sorted(ws["id"] for ws in everything) == ["w0", "w1"]
