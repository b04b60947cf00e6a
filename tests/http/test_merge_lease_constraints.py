"""Merge leases judged by the workspace each is held for, as stored: a constrained token
sees and force-releases only the leases of workspaces it may touch, never a lease by the
repository alone."""

from __future__ import annotations

from typing import Any

from relay.actors import repo as repos
from relay.http.services import Services
from relay.store import workspaces as workspace_store
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.sse_client import open_stream, until_end
from tests.http.test_ownership import two_hosts
from tests.http.test_workspaces import action, leases, make_workspace

O1_REPO = "/srv/o1/repo"
O2_REPO = "/srv/o2/repo"


async def merging(client: Any, workspace_id: str, repo: str, agent_id: str, host: str) -> None:
    """A workspace of ``agent_id`` under ``host`` whose merge holds ``repo``'s lease."""
    await make_workspace(client, workspace_id, repo, agentId=agent_id, orchestratorId=host)
    assert (await action(client, workspace_id, action="merge")).status_code == 202


async def two_merges(client: Any) -> None:
    """w1 (a1, o1) holds the lease of O1_REPO, w2 (a2, o2) that of O2_REPO."""
    await two_hosts(client)
    await merging(client, "w1", O1_REPO, "a1", "o1")
    await merging(client, "w2", O2_REPO, "a2", "o2")


async def seen(client: Any, headers: Any) -> tuple[list[str], list[tuple[str, str | None]]]:
    """The lease list's workspaces and the merge queue's (repository, lease holder)."""
    listed = await (await client.get("/api/merge-leases", headers=headers)).get_json()
    queue = await (await client.get("/api/merge-queue", headers=headers)).get_json()
    return (
        sorted(lease["workspaceId"] for lease in listed),
        [(entry["repoRoot"], (entry["lease"] or {}).get("workspaceId")) for entry in queue],
    )


async def test_an_o1_limited_token_admin_cannot_force_release_o2s_merge_lease(
    client: Any, mint: Any
) -> None:
    """Force-releasing lets a second merge of o2's repository start while the first runs:
    a token:admin limited to orchestrator o1 (no cwd) may not, whatever repoRoot it names."""
    await two_hosts(client)
    await merging(client, "w2", O2_REPO, "a2", "o2")
    admin = bearer(mint(["token:admin", "command:read"], {"orchestrators": ["o1"]}))
    response = await client.delete(
        "/api/merge-leases", query_string={"repoRoot": O2_REPO}, headers=admin
    )
    assert response.status_code == 403, await response.get_data()
    assert [lease["workspaceId"] for lease in await leases(client)] == ["w2"]


async def test_an_o1_limited_token_does_not_see_o2s_merge_lease(client: Any, mint: Any) -> None:
    """Neither the lease list nor the merge queue shows a token limited to o1 (or to agent
    a1) the lease of o2's merge (its workspace, holder, command): it may not read the
    workspace itself."""
    await two_hosts(client)
    await merging(client, "w2", O2_REPO, "a2", "o2")
    views = []
    for constraints in ({"orchestrators": ["o1"]}, {"agents": ["a1"]}):
        token = bearer(mint(["command:read", "agent:read"], constraints))
        assert (await client.get("/api/workspaces/w2", headers=token)).status_code == 403
        views.append((constraints, await seen(client, token)))
    assert views == [({"orchestrators": ["o1"]}, ([], [])), ({"agents": ["a1"]}, ([], []))]


async def test_an_o1_limited_token_admin_sees_and_force_releases_its_own_merge_lease(
    client: Any, mint: Any
) -> None:
    await two_merges(client)
    admin = bearer(mint(["token:admin", "command:read"], {"orchestrators": ["o1"]}))
    assert await seen(client, admin) == (["w1"], [(O1_REPO, "w1")])
    response = await client.delete(
        "/api/merge-leases", query_string={"repoRoot": O1_REPO}, headers=admin
    )
    assert response.status_code == 200, await response.get_data()
    assert (await response.get_json())["released"]["workspaceId"] == "w1"
    assert [lease["workspaceId"] for lease in await leases(client)] == ["w2"]


async def test_root_and_an_unconstrained_token_see_every_merge_lease(
    client: Any, mint: Any
) -> None:
    """What an o1-limited token is not shown, root and a token without constraints are."""
    await two_merges(client)
    limited = bearer(mint(["command:read"], {"orchestrators": ["o1"]}))
    unconstrained = bearer(mint(["command:read"]))
    everything = (["w1", "w2"], [(O1_REPO, "w1"), (O2_REPO, "w2")])
    assert await seen(client, limited) == (["w1"], [(O1_REPO, "w1")])
    assert await seen(client, H) == everything
    assert await seen(client, unconstrained) == everything


async def test_a_lease_whose_workspace_is_gone_is_shown_only_to_callers_not_limited_by_owner(
    client: Any, mint: Any, services: Services
) -> None:
    """Its row names a repository, nothing stored says whose merge it was: a token limited
    to o1 or to a1 neither sees nor releases it; one limited to the repository's path
    alone judges it by that path, as root sees it."""
    await two_merges(client)
    # A row older than the rule that a workspace's deletion releases its lease.
    await services.runtime.store.write(lambda: workspace_store.delete("w2"))
    for constraints in ({"orchestrators": ["o1"]}, {"agents": ["a1"]}):
        admin = bearer(mint(["token:admin", "command:read"], constraints))
        assert await seen(client, admin) == (["w1"], [(O1_REPO, "w1")])
        response = await client.delete(
            "/api/merge-leases", query_string={"repoRoot": O2_REPO}, headers=admin
        )
        assert response.status_code == 403, await response.get_data()
    assert await seen(client, H) == (["w1", "w2"], [(O1_REPO, "w1"), (O2_REPO, "w2")])
    by_path = bearer(mint(["token:admin", "command:read"], {"cwd": ["/srv/o2"]}))
    assert await seen(client, by_path) == (["w2"], [(O2_REPO, "w2")])
    response = await client.delete(
        "/api/merge-leases", query_string={"repoRoot": O2_REPO}, headers=by_path
    )
    assert response.status_code == 200, await response.get_data()
    assert [lease["workspaceId"] for lease in await leases(client)] == ["w1"]


async def test_a_force_release_frees_only_the_lease_of_the_workspace_it_was_judged_for(
    client: Any, services: Services
) -> None:
    """The route judges the lease it read, then asks the repo's actor: a lease taken since
    for another workspace (one the caller may not see) is not released in its stead."""
    await two_merges(client)
    rt = services.runtime
    stale = repos.ForceRelease("root", "w-before")
    assert await rt.registry.ask(repos.KIND, O2_REPO, stale) is None
    released = await rt.registry.ask(repos.KIND, O2_REPO, repos.ForceRelease("root", "w2"))
    assert released is not None
    assert released.workspace_id == "w2"
    assert [lease["workspaceId"] for lease in await leases(client)] == ["w1"]


async def test_the_event_stream_judges_a_lease_by_its_workspace(client: Any, mint: Any) -> None:
    """The stream's guard as the list: o2's lease events never reach a token limited to o1
    (no cwd), which the repository's path alone let through; o1's do."""
    token = bearer(mint(["activity:read", "command:read"], {"orchestrators": ["o1"]}))
    async with open_stream(client, headers=token) as stream:
        await two_merges(client)
        response = await client.delete(f"/api/merge-leases?repoRoot={O2_REPO}", headers=H)
        assert response.status_code == 200
        frames = await until_end(client, stream)
    carried = [
        (f.data["change"], f.data["lease"]["workspaceId"]) for f in frames if f.event == "lease"
    ]
    assert carried == [("acquired", "w1")]
