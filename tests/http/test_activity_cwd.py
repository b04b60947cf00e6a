"""A token limited by ``cwd`` reads the activity of the agents within its paths only: the
feed (``GET /api/activity``) and the stream's ``activity`` frames leave out rows naming
an agent working elsewhere, or one that recorded no working directory, as the agent's own
routes refuse it (``test_manage_agents_cwd``). Rows naming no agent but a host are judged
by the host's ``baseDir``; rows naming neither read as before. A repeated ``clientId``
hands back no row the caller may not read."""

from __future__ import annotations

from typing import Any

from relay.auth.tokens import TokenSpec
from tests.conftest import bearer, services_of
from tests.http.helpers import H, create_command, patch_command
from tests.http.sse_client import open_stream, until_end
from tests.http.test_acts_for_cwd import FAR, NEAR, NOWHERE, hosts
from tests.http.test_workspaces import action, make_workspace

SCOPES = ["activity:read", "activity:write", "agent:read"]


def ops(mint: Any) -> dict[str, str]:
    return bearer(mint(SCOPES, {"cwd": ["/srv/o1"]}, sub="ops", role="dashboard"))


async def note(client: Any, title: str, agent_id: str | None = None) -> None:
    body: dict[str, Any] = {"kind": "note", "title": title}
    if agent_id is not None:
        body["agentId"] = agent_id
    response = await client.post("/api/activity", json=body, headers=H)
    assert response.status_code == 201, await response.get_data()


async def notes(client: Any) -> None:
    for agent_id in (NEAR, FAR, NOWHERE):
        await note(client, f"about {agent_id}", agent_id)
    await note(client, "about no agent")


async def titles(client: Any, headers: dict[str, str], query: str = "") -> list[str]:
    response = await client.get(f"/api/activity?kind=note{query}", headers=headers)
    assert response.status_code == 200, await response.get_data()
    return sorted(row["title"] for row in await response.get_json() if row["kind"] == "note")


async def test_the_feed_leaves_out_agents_outside_the_callers_paths(client: Any, mint: Any) -> None:
    await hosts(client)
    await notes(client)
    assert await titles(client, ops(mint)) == ["about near", "about no agent"]
    assert await titles(client, H) == sorted(
        ["about near", "about far", "about nowhere", "about no agent"]
    )
    # Catching up (``after``) reads the same rows.
    assert await titles(client, ops(mint), "&after=0") == ["about near", "about no agent"]
    # Paths that hold no agent: only the rows naming none.
    elsewhere = bearer(mint(SCOPES, {"cwd": ["/srv/o3"]}, sub="ops", role="dashboard"))
    assert await titles(client, elsewhere) == ["about no agent"]


async def test_the_stream_leaves_out_agents_outside_the_callers_paths(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    async with open_stream(client, headers=ops(mint)) as stream:
        await notes(client)
        frames = await until_end(client, stream)
    streamed = sorted(
        f.data["title"] for f in frames if f.event == "activity" and f.data.get("kind") == "note"
    )
    assert streamed == ["about near", "about no agent", "end"]


async def test_a_known_client_id_hands_back_no_row_the_caller_may_not_read(
    client: Any, mint: Any
) -> None:
    """Activity is deduplicated on clientId and a repeat answers the stored row: to a
    caller that reads that row only. Another's gets 409 and nothing changes."""
    await hosts(client)
    for agent_id in (NEAR, FAR, NOWHERE):
        body = {"clientId": f"c-{agent_id}", "title": f"about {agent_id}", "agentId": agent_id}
        response = await client.post("/api/activity", json=body, headers=H)
        assert response.status_code == 201, await response.get_data()
    token = ops(mint)
    # (A constrained caller's row names an agent it reaches: NEAR.)
    for agent_id in (FAR, NOWHERE):
        response = await client.post(
            "/api/activity",
            json={"clientId": f"c-{agent_id}", "title": "x", "agentId": NEAR},
            headers=token,
        )
        assert (response.status_code, await response.get_json()) == (
            409,
            {"error": "clientId is already taken"},
        ), agent_id
    # Within its paths the repeat is answered as before: the stored row, 200.
    response = await client.post(
        "/api/activity",
        json={"clientId": f"c-{NEAR}", "title": "x", "agentId": NEAR},
        headers=token,
    )
    assert response.status_code == 200
    assert (await response.get_json())["title"] == f"about {NEAR}"
    assert await titles(client, H) == sorted(f"about {a}" for a in (NEAR, FAR, NOWHERE))


O2_REPO = "/srv/o2/repo"


async def far_merge_lease_released(client: Any) -> None:
    """``far``'s workspace holds O2_REPO's merge lease; root force-releases it: the repo
    actor audits "Merge lease force-released", naming o2 and, in metadata only, the
    workspace and its repository."""
    await make_workspace(client, "w2", O2_REPO, agentId=FAR, orchestratorId="o2")
    assert (await action(client, "w2", action="merge")).status_code == 202
    response = await client.delete(
        "/api/merge-leases", query_string={"repoRoot": O2_REPO}, headers=H
    )
    assert response.status_code == 200, await response.get_data()


async def host_rows(client: Any, headers: dict[str, str]) -> list[tuple[str, Any]]:
    rows = await (await client.get("/api/activity?limit=1000", headers=headers)).get_json()
    return sorted(
        (row["title"], row.get("orchestratorId"))
        for row in rows
        if row.get("agentId") is None and row.get("orchestratorId") is not None
    )


async def test_a_hosts_rows_are_read_within_its_base_dir_only(client: Any, mint: Any) -> None:
    """Rows naming a host and no agent (its commands' audits, its merge leases') are judged
    by the host's baseDir: o1's (/srv/o1) within the caller's paths, o2's not. The records
    they tell of (the command, the workspace, the lease) the caller may not read either."""
    await hosts(client)
    token = bearer(
        mint([*SCOPES, "command:read"], {"cwd": ["/srv/o1"]}, sub="ops", role="dashboard")
    )
    async with open_stream(client, headers=token) as stream:
        await far_merge_lease_released(client)
        about_far = await create_command(client, "o2", "agent.inspect", params={"agentId": FAR})
        failed = await patch_command(client, about_far["id"], "failed", error="far's secret")
        assert failed.status_code == 200, await failed.get_data()
        await create_command(client, "o1", "test.noop")
        frames = await until_end(client, stream)
    assert (await client.get(f"/api/commands/{about_far['id']}", headers=token)).status_code == 403
    assert (await client.get("/api/workspaces/w2", headers=token)).status_code == 403
    everything = await host_rows(client, H)
    assert ("Merge lease force-released", "o2") in everything
    assert ("Command agent.inspect failed", "o2") in everything
    assert ("Command test.noop queued", "o1") in everything
    expected = [row for row in everything if row[1] == "o1"]
    assert await host_rows(client, token) == expected
    streamed = sorted(
        (f.data["title"], f.data.get("orchestratorId"))
        for f in frames
        if f.event == "activity" and f.data.get("agentId") is None and f.data.get("orchestratorId")
    )
    assert streamed == [("Command test.noop queued", "o1")]


async def test_after_a_restart_the_stream_knows_every_hosts_base_dir(open_app: Any) -> None:
    """The stream's guard judges a host's rows by the ``baseDir`` memory holds: a restarted
    relay reads every stored one at start-up, before a path-limited stream opens."""
    async with open_app() as first:
        await hosts(first.test_client())
    async with open_app() as second:
        client = second.test_client()
        spec = TokenSpec(
            sub="ops",
            role="dashboard",
            scope=(*SCOPES, "command:read"),
            constraints={"cwd": ["/srv/o1"]},
            ttl_seconds=3600,
        )
        token = bearer(services_of(second).auth.mint(spec)[0])
        async with open_stream(client, headers=token) as stream:
            await create_command(client, "o2", "test.noop")
            await create_command(client, "o1", "test.noop")
            frames = await until_end(client, stream)
    streamed = [
        (f.data["title"], f.data.get("orchestratorId"))
        for f in frames
        if f.event == "activity" and f.data.get("orchestratorId")
    ]
    assert streamed == [("Command test.noop queued", "o1")]
