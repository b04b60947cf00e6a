"""A host's ``agentId`` decides which commands and restarts it is sent, its ``baseDir`` which
merges: a token limited to o1 alone (which ``is_target`` makes o1) may not re-register o1
with an ``agentId`` claiming o2's, and the routing itself prefers the host a record names,
and the deepest ``baseDir``, over one that merely covers it (found by review). Two hosts
may share a ``baseDir``: each works in that path on its own machine."""

from __future__ import annotations

from typing import Any

import pytest

from relay.auth.profiles import ORCHESTRATOR
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.test_ownership import two_hosts
from tests.http.test_workspaces import action, make_workspace

SESSION = {"runnerManaged": True, "provider": "claude", "cwd": "/srv/o2/x", "sessionName": "s-x"}


def o1_only(mint: Any) -> dict[str, str]:
    scope = list(ORCHESTRATOR.scope)
    return bearer(mint(scope, {"orchestrators": ["o1"]}, sub="ops-o1", role="orchestrator"))


@pytest.mark.parametrize(
    "agent_id", ["o2", "a2", "o2-agent"], ids=["o2-id", "o2s-agent", "o2s-agent-id"]
)
async def test_a_token_limited_to_o1_claims_no_agent_id_of_o2(
    client: Any, mint: Any, agent_id: str
) -> None:
    await two_hosts(client)
    o2 = {"id": "o2", "baseDir": "/srv/o2", "agentId": "o2-agent"}
    assert (await client.post("/api/orchestrators", json=o2, headers=H)).status_code == 200
    before = await (await client.get("/api/orchestrators/o1", headers=H)).get_json()
    claim = {"id": "o1", "baseDir": "/srv/o1", "agentId": agent_id}
    response = await client.post("/api/orchestrators", json=claim, headers=o1_only(mint))
    assert response.status_code == 403, await response.get_data()
    assert await response.get_json() == {"error": "forbidden"}
    after = await (await client.get("/api/orchestrators/o1", headers=H)).get_json()
    assert after["agentId"] == before["agentId"]


async def test_a_token_limited_to_o1_still_re_registers_o1(client: Any, mint: Any) -> None:
    """Its own agent id, another path, and o2's path (o2's machine is not o1's)."""
    await two_hosts(client)
    for claim in (
        {"baseDir": "/srv/o1b", "agentId": "o1-agent"},
        {"baseDir": "/srv/o2"},
        {"baseDir": "/srv/o1"},
    ):
        response = await client.post(
            "/api/orchestrators", json={"id": "o1", **claim}, headers=o1_only(mint)
        )
        assert response.status_code == 200, await response.get_data()


async def test_a_merge_goes_to_the_workspaces_own_host_not_one_above_it(
    client: Any, mint: Any
) -> None:
    """o1's token re-registers o1 at ``/``, which covers every path: o2's workspace is still
    merged by o2, and one naming no host by the deepest host covering it."""
    await two_hosts(client)
    token = o1_only(mint)
    widened = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/"}, headers=token
    )
    assert widened.status_code == 200, await widened.get_data()
    await make_workspace(client, "w2", "/srv/o2/repo", orchestratorId="o2", agentId="a2")
    await make_workspace(client, "w9", "/srv/o2/other")
    for workspace_id in ("w2", "w9"):
        merged = await action(client, workspace_id, H, action="merge")
        assert merged.status_code == 202, await merged.get_data()
        assert (await merged.get_json())["command"]["target"] == "o2"
    taken = await client.get("/api/orchestrators/o1/commands?wait=0", headers=token)
    assert taken.status_code == 200, await taken.get_data()
    assert [c["type"] for c in await taken.get_json() if c["type"].startswith("workspace")] == []


async def test_a_hosts_agent_id_never_stands_for_another_host(client: Any) -> None:
    """o1 registered (by root) with o2's id as its agent id: o2's session is still o2's
    (offline, it is no host's: ``test_action_rules``)."""
    await register_orchestrator(client, "o2", "/srv/o2")
    body = {"id": "x", "orchestratorId": "o2", "meta": SESSION}
    assert (await client.post("/api/agents", json=body, headers=H)).status_code == 201
    claimed = await client.post(
        "/api/orchestrators", json={"id": "o1", "baseDir": "/srv/o1", "agentId": "o2"}, headers=H
    )
    assert claimed.status_code == 201, await claimed.get_data()
    restart = await client.post("/api/agents/x/actions", json={"action": "restart"}, headers=H)
    assert restart.status_code == 202, await restart.get_data()
    assert (await restart.get_json())["command"]["target"] == "o2"
