"""A host's ``baseDir`` decides which merges it is sent and its ``agentId`` which restarts and
commands: a token limited to o1 alone (which ``is_target`` makes o1) may not re-register o1
so that it claims o2's, and the routing itself prefers the host a record names, and the
deepest ``baseDir``, over one that merely covers it (found by review)."""

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
    return bearer(mint(scope, {"orchestrators": ["o1"]}, sub="ops-o1", role="dashboard"))


@pytest.mark.parametrize(
    "claim",
    [
        {"baseDir": "/"},
        {"baseDir": "/srv"},
        {"baseDir": "/srv/o2/deeper"},
        {"baseDir": "/srv/o1", "agentId": "o2"},
        {"baseDir": "/srv/o1", "agentId": "a2"},
    ],
    ids=["root-dir", "parent-dir", "inside-o2", "o2-id", "o2-agent"],
)
async def test_a_token_limited_to_o1_claims_nothing_of_o2(
    client: Any, mint: Any, claim: dict[str, str]
) -> None:
    await two_hosts(client)
    before = await (await client.get("/api/orchestrators/o1", headers=H)).get_json()
    response = await client.post(
        "/api/orchestrators", json={"id": "o1", **claim}, headers=o1_only(mint)
    )
    assert response.status_code == 403, await response.get_data()
    assert await response.get_json() == {"error": "forbidden"}
    after = await (await client.get("/api/orchestrators/o1", headers=H)).get_json()
    assert (after["baseDir"], after["agentId"]) == (before["baseDir"], before["agentId"])


async def test_a_token_limited_to_o1_still_re_registers_o1(client: Any, mint: Any) -> None:
    await two_hosts(client)
    for claim in ({"baseDir": "/srv/o1"}, {"baseDir": "/srv/o1b", "agentId": "o1-agent"}):
        response = await client.post(
            "/api/orchestrators", json={"id": "o1", **claim}, headers=o1_only(mint)
        )
        assert response.status_code == 200, await response.get_data()


async def test_a_merge_goes_to_the_workspaces_own_host_not_one_above_it(client: Any) -> None:
    """Root may register nested hosts; o2's workspace is still merged by o2."""
    await two_hosts(client)
    await register_orchestrator(client, "o0", "/")
    await make_workspace(client, "w2", "/srv/o2/repo", orchestratorId="o2", agentId="a2")
    await make_workspace(client, "w9", "/srv/o2/other")  # names no host: the deepest
    for workspace_id in ("w2", "w9"):
        merged = await action(client, workspace_id, H, action="merge")
        assert merged.status_code == 202, await merged.get_data()
        assert (await merged.get_json())["command"]["target"] == "o2"


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
