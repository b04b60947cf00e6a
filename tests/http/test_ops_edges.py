"""Edges of the activity feed, maintenance runs and health: who may write which rows,
full pages for path-limited readers, a store that does not answer a job, a late begin."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.maintenance.ledger import ActorJobLedger
from relay.errors import Unavailable
from relay.http import health
from relay.store import maintenance as maintenance_store
from tests.conftest import bearer, root_headers
from tests.http.helpers import register_orchestrator

H = root_headers()
JSON = dict[str, Any]


async def _two_hosts(client: Any) -> tuple[dict[str, str], dict[str, str]]:
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    o2 = await register_orchestrator(client, "o2", "/srv/o2")
    return bearer(o1["token"]), bearer(o2["token"])


async def _titles(client: Any, headers: dict[str, str], query: str = "") -> list[str]:
    response = await client.get(f"/api/activity{query}", headers=headers)
    assert response.status_code == 200, await response.get_data()
    return [row["title"] for row in await response.get_json()]


async def test_a_host_token_cannot_plant_a_relay_wide_row_in_another_hosts_feed(
    client: Any,
) -> None:
    """o1's runtime token posts a row naming no agent: it is stored as the relay's own
    (no orchestrator) and o2's feed shows it, indistinguishable from the relay's audit."""
    o1, o2 = await _two_hosts(client)
    forged = {
        "kind": "maintenance",
        "title": "Maintenance job token-pruning failed",
        "view": "maintenance",
        "icon": "ti-alert-triangle",
        "metadata": {"job": "token-pruning", "error": "forged"},
    }
    response = await client.post("/api/activity", json=forged, headers=o1)
    assert response.status_code == 201, await response.get_data()
    assert (await response.get_json())["orchestratorId"] == "o1"  # its author's host's row
    assert forged["title"] not in await _titles(client, o2)
    assert forged["title"] in await _titles(client, o1)


async def test_a_path_limited_token_must_name_the_agent_its_row_is_about(
    client: Any, mint: Any
) -> None:
    # It has no one host whose row it could be: naming no agent, it would be the relay's.
    token = bearer(mint(["activity:write", "activity:read"], {"cwd": ["/srv/team"]}))
    response = await client.post("/api/activity", json={"title": "hello"}, headers=token)
    assert (response.status_code, await response.get_json()) == (
        403,
        {"error": "a constrained token's activity must name its agentId"},
    )
    assert "hello" not in await _titles(client, H)


async def test_a_caller_without_token_admin_cannot_write_into_the_security_view(
    client: Any, mint: Any
) -> None:
    """Reading the security view takes token:admin; writing into it takes only
    activity:write, so any component can forge token audits the admins read."""
    writer = bearer(mint(["activity:write"]))
    forged = {"kind": "token", "title": "Token revoked", "view": "security"}
    response = await client.post("/api/activity", json=forged, headers=writer)
    assert response.status_code == 403, await response.get_data()
    assert "Token revoked" not in await _titles(client, H, "?view=security")


async def test_a_maintenance_job_whose_store_is_down_is_503(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store is down while the job runs: the caller is told 200 with the job's
    ``error: store unavailable`` and no Retry-After, not the contract's 503."""

    async def down(*_a: Any, **_k: Any) -> Any:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(maintenance_store, "delete_activity_before", down)
    response = await client.post("/api/maintenance/jobs/activity-retention/run", headers=H)
    body = await response.get_data(as_text=True)
    assert response.status_code == 503, body
    assert response.headers.get("Retry-After"), body
    # The run is recorded as failed all the same.
    listed = await (await client.get("/api/maintenance/jobs", headers=H)).get_json()
    job = {j["name"]: j for j in listed}["activity-retention"]
    assert (job["running"], job["error"]) == (False, "store unavailable")


@pytest.mark.parametrize(
    "query",
    [
        "?after=x",
        "?after=-1",
        "?limit=0",
        "?limit=abc",
        "?limit=100000",
        "?after=99999999999999999999999",
    ],
)
async def test_bad_feed_queries_are_400(client: Any, query: str) -> None:
    response = await client.get(f"/api/activity{query}", headers=H)
    assert response.status_code == 400, (query, await response.get_data())


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x", "metadata": []},
        {"title": "x", "clientId": ""},
        {"title": ""},
        {"title": "x", "kind": 5},
        {"title": "x", "metadata": {"a": "\u0000"}},
        [],
        "x",
    ],
)
async def test_bad_activity_posts_are_4xx(client: Any, body: Any) -> None:
    response = await client.post("/api/activity", json=body, headers=H)
    assert 400 <= response.status_code < 500, (body, await response.get_data())


async def test_odd_job_names_are_404(client: Any) -> None:
    for name in ("%00", "a" * 300, "..", "activity-retention%2F"):
        response = await client.post(f"/api/maintenance/jobs/{name}/run", headers=H)
        assert response.status_code in (400, 404), (name, await response.get_data())


async def test_readyz_when_the_store_is_down_is_503(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:

    async def down() -> None:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(health, "ping", down)
    r = await client.get("/readyz")
    assert r.status_code == 503
    assert r.headers.get("Retry-After")


async def test_a_host_token_cannot_preplant_rows_for_an_agent_another_host_registers(
    client: Any,
) -> None:
    """o1's token names an agent id nobody registered yet; o2 registers it afterwards: the
    operator's per-agent feed shows o1's forged row as o2's agent's activity."""
    o1, _o2 = await _two_hosts(client)
    forged = {"kind": "agent", "title": "Agent restarted", "agentId": "future"}
    posted = await client.post("/api/activity", json=forged, headers=o1)
    registered = await client.post(
        "/api/agents", json={"id": "future", "orchestratorId": "o2"}, headers=H
    )
    assert registered.status_code == 201, await registered.get_data()
    assert posted.status_code in (403, 404), await posted.get_data()
    assert "Agent restarted" not in await _titles(client, H, "?agentId=future")


async def test_a_path_limited_feed_page_is_not_emptied_by_rows_it_filters_after_the_limit(
    client: Any, mint: Any
) -> None:
    """Rows SQL's LIKE keeps but ``within_cwd`` drops are dropped after LIMIT: with the
    catch-up cursor, the first page is empty though a readable row follows."""
    team = bearer(mint(["agent:read", "activity:read"], {"cwd": ["/srv/team"]}, sub="t"))

    async def reviewed(ws_id: str, root: str) -> None:
        body = {"id": ws_id, "repoRoot": root, "worktreePath": f"{root}/.wt/{ws_id}"}
        assert (await client.post("/api/workspaces", json=body, headers=H)).status_code == 201
        acted = await client.post(
            f"/api/workspaces/{ws_id}/actions", json={"action": "request-review"}, headers=H
        )
        assert acted.status_code == 200, await acted.get_data()

    for n in range(3):
        await reviewed(f"upper{n}", "/srv/TEAM/repo")
    await reviewed("mine", "/srv/team/repo")
    page = await client.get("/api/activity?view=orchestrators&after=0&limit=2", headers=team)
    rows = await page.get_json()
    everything = await client.get("/api/activity?view=orchestrators&after=0", headers=team)
    assert [r["metadata"]["workspaceId"] for r in await everything.get_json()] != []
    assert rows != [], "first catch-up page empty although a readable row follows"


async def test_a_begin_answered_too_late_does_not_leave_the_job_running_forever(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The maintenance actor handles a run's Begin after the scheduler gave up waiting
    (503): no Finish follows, and the job stayed "running" for good (every run 409, the
    schedule never ran it) until a restart."""
    handled_late = ActorJobLedger.begin

    async def begin_after_the_wait(self: ActorJobLedger, name: str, now: int) -> Any:
        await handled_late(self, name, now)  # the actor marks it running...
        raise Unavailable("maintenance actor timed out")  # ...after the caller gave up

    monkeypatch.setattr(ActorJobLedger, "begin", begin_after_the_wait)
    first = await client.post("/api/maintenance/jobs/token-pruning/run", headers=H)
    assert (first.status_code, await first.get_json()) == (
        503,
        {"error": "maintenance actor timed out"},
    )
    monkeypatch.setattr(ActorJobLedger, "begin", handled_late)
    again = await client.post("/api/maintenance/jobs/token-pruning/run", headers=H)
    assert again.status_code == 200, await again.get_data()
    listed = await (await client.get("/api/maintenance/jobs", headers=H)).get_json()
    assert {job["name"]: job["running"] for job in listed}["token-pruning"] is False
