"""A constrained grantor issues no token acting for an agent it does not act for itself:
``POST /api/agents/:id/mcp-token`` and ``POST /api/tokens`` judge the agents a new token
would act for on where they are stored, as the inbox routes do (``access.acts_for``), not
only by the constraint kinds the grantor happens to carry."""

from __future__ import annotations

from typing import Any

import pytest

from relay.auth.profiles import ORCHESTRATOR
from tests.conftest import bearer
from tests.http.test_ownership import two_hosts

INBOX = "/api/agents/{}/inbox?peek=true"


async def issue(client: Any, headers: dict[str, str], **body: Any) -> Any:
    return await client.post("/api/tokens", json=body, headers=headers)


async def reads_inbox(client: Any, response: Any, agent_id: str) -> bool:
    """Whether the token a 201 carries reads the agent's inbox."""
    token = (await response.get_json())["token"]
    inbox = await client.get(INBOX.format(agent_id), headers=bearer(token))
    return bool(inbox.status_code == 200)


async def test_a_path_limited_token_admin_cannot_mint_an_mcp_token_for_an_agent(
    client: Any, mint: Any
) -> None:
    """Its path lets it grant ``{agents: [a2], cwd: [/srv/o1]}``, but a path bounds no
    agent: the MCP token would read a2's inbox, which its minter cannot."""
    await two_hosts(client)
    admin = bearer(mint(["token:admin", "message:read"], {"cwd": ["/srv/o1"]}, sub="ops-path"))
    assert (await client.get(INBOX.format("a2"), headers=admin)).status_code == 403
    for agent_id in ("a1", "a2"):
        response = await client.post(f"/api/agents/{agent_id}/mcp-token", headers=admin)
        assert response.status_code == 403, await response.get_json()
        assert await response.get_json() == {"error": "forbidden"}


async def test_a_path_limited_token_admin_cannot_issue_a_token_acting_for_an_agent(
    client: Any, mint: Any
) -> None:
    await two_hosts(client)
    admin = bearer(mint(["token:admin", "message:read"], {"cwd": ["/srv/o1"]}, sub="ops-path"))
    assert (await client.get(INBOX.format("a2"), headers=admin)).status_code == 403
    response = await issue(
        client,
        admin,
        sub="ops-path:s",
        role="provider",
        scope=["message:read"],
        constraints={"agents": ["a2"], "cwd": ["/srv/o1"]},
    )
    assert response.status_code == 403
    assert await response.get_json() == {
        "error": "cannot grant agent a2: the caller does not act for it"
    }


@pytest.mark.parametrize(
    ("role", "constraints"),
    [
        ("dashboard", {"cwd": ["/srv/o1"]}),
        ("orchestrator", {"orchestrators": ["o2"], "cwd": ["/srv/o1"]}),
    ],
)
async def test_a_path_limited_token_admin_cannot_issue_a_role_acting_for_agents(
    client: Any, mint: Any, role: str, constraints: dict[str, list[str]]
) -> None:
    """An operator's token acts for every agent it covers, an orchestrator's for those of
    its orchestrators: without ``agents``, either would read a2's inbox."""
    await two_hosts(client)
    admin = bearer(mint(["token:admin", "message:read"], {"cwd": ["/srv/o1"]}, sub="ops-path"))
    response = await issue(
        client, admin, sub="ops-path:s", role=role, scope=["message:read"], constraints=constraints
    )
    assert response.status_code == 403
    assert await response.get_json() == {
        "error": f"cannot grant role {role} without agents: the caller does not act as widely"
    }


async def test_an_orchestrator_limited_operator_issues_for_its_own_agents_only(
    client: Any, mint: Any
) -> None:
    await two_hosts(client)
    # It holds the host profile's scopes, which issuing the orchestrator role below takes.
    scopes = ["token:admin", *ORCHESTRATOR.scope]
    admin = bearer(mint(scopes, {"orchestrators": ["o1"]}, sub="ops", role="dashboard"))
    body = {"role": "provider", "scope": ["message:read"]}
    mine = await issue(
        client, admin, sub="ops:a1", constraints={"agents": ["a1"], "orchestrators": ["o1"]}, **body
    )
    assert mine.status_code == 201, await mine.get_json()
    assert await reads_inbox(client, mine, "a1")
    theirs = await issue(
        client, admin, sub="ops:a2", constraints={"agents": ["a2"], "orchestrators": ["o1"]}, **body
    )
    assert theirs.status_code == 403
    # As an operator it acts for o1's agents: an orchestrator's token for o1 is no wider.
    orchestrator = await issue(
        client,
        admin,
        sub="ops:o1",
        role="orchestrator",
        scope=["message:read"],
        constraints={"orchestrators": ["o1"]},
    )
    assert orchestrator.status_code == 201, await orchestrator.get_json()
    assert await reads_inbox(client, orchestrator, "a1")
    assert not await reads_inbox(client, orchestrator, "a2")


async def test_an_unconstrained_token_admin_still_issues_and_mints_for_any_agent(
    client: Any, mint: Any
) -> None:
    await two_hosts(client)
    admin = bearer(mint(["token:admin", "message:read"], sub="ops"))
    minted = await client.post("/api/agents/a2/mcp-token", headers=admin)
    assert minted.status_code == 201, await minted.get_json()
    assert await reads_inbox(client, minted, "a2")
    issued = await issue(
        client,
        admin,
        sub="anyone",
        role="provider",
        scope=["message:read"],
        constraints={"agents": ["a2"]},
    )
    assert issued.status_code == 201, await issued.get_json()
    assert await reads_inbox(client, issued, "a2")
    unknown = await client.post("/api/agents/ghost/mcp-token", headers=admin)
    assert unknown.status_code == 404


async def test_an_orchestrators_runtime_token_still_mints_for_its_own_agent(
    client: Any,
) -> None:
    """The registration's runtime token (``{orchestrators: [o1], cwd: [/srv/o1]}``) mints
    its session's MCP token, kept to its path, and none for o2's agent."""
    o1 = await two_hosts(client)
    response = await client.post("/api/agents/a1/mcp-token", headers=o1)
    assert response.status_code == 201, await response.get_json()
    record = (await response.get_json())["record"]
    assert record["constraints"] == {"agents": ["a1"], "cwd": ["/srv/o1"], "orchestrators": ["o1"]}
    assert await reads_inbox(client, response, "a1")
    refused = await client.post("/api/agents/a2/mcp-token", headers=o1)
    assert refused.status_code == 403
