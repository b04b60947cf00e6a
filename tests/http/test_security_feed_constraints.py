"""What ``GET /api/tokens`` withholds from a constrained ``token:admin`` (the records of
tokens it could not have issued) does not reach it through the security view: token audits
name no agent and no orchestrator, so they go to root and unconstrained callers only, in
the feed and on the event stream alike."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.sse_client import open_stream, post_activity, until_end

READER_SCOPE = ["token:admin", "activity:read", "agent:read"]
CONSTRAINED = [
    {"orchestrators": ["o1"]},
    {"cwd": ["/srv/o1"]},
    {"cwd": ["/"]},  # covers every path, yet is constrained
    {"policyNames": ["p1"]},
]


async def issue_o2_token(client: Any) -> str:
    """A token for o2, issued by root; its jti."""
    response = await client.post(
        "/api/tokens",
        json={
            "sub": "deploy-bot-o2",
            "role": "provider",
            "scope": ["agent:read", "command:write"],
            "constraints": {"orchestrators": ["o2"]},
        },
        headers=H,
    )
    assert response.status_code == 201
    jti: str = (await response.get_json())["record"]["jti"]
    return jti


def audits_of(rows: list[dict[str, Any]], jti: str) -> list[dict[str, Any]]:
    return [row for row in rows if (row.get("metadata") or {}).get("jti") == jti]


@pytest.mark.parametrize("constraints", CONSTRAINED)
async def test_a_constrained_token_admin_reads_no_token_audit_in_the_feed(
    client: Any, mint: Any, constraints: dict[str, list[str]]
) -> None:
    admin = bearer(mint(READER_SCOPE, constraints, sub="ops-o1"))
    theirs = await issue_o2_token(client)
    listed = await (await client.get("/api/tokens", headers=admin)).get_json()
    assert theirs not in [record["jti"] for record in listed]  # withheld by the list
    for query in ("?view=security", ""):
        feed = await client.get(f"/api/activity{query}", headers=admin)
        assert feed.status_code == 200
        assert audits_of(await feed.get_json(), theirs) == []


@pytest.mark.parametrize("constraints", CONSTRAINED)
async def test_a_constrained_token_admin_is_streamed_no_token_audit(
    client: Any, mint: Any, constraints: dict[str, list[str]]
) -> None:
    admin = bearer(mint(READER_SCOPE, constraints, sub="ops-o1"))
    async with open_stream(client, headers=admin) as stream:
        await issue_o2_token(client)
        frames = await until_end(client, stream)
    assert [f.data.get("view") for f in frames if f.event == "activity"] == [None]


async def test_a_constrained_token_admin_still_reads_security_rows_of_its_agents(
    client: Any, mint: Any
) -> None:
    """A security row naming an agent is judged by that agent, as every row is."""
    for agent_id, orchestrator_id in (("a1", "o1"), ("a2", "o2")):
        response = await client.post(
            "/api/agents", json={"id": agent_id, "orchestratorId": orchestrator_id}, headers=H
        )
        assert response.status_code == 201
    admin = bearer(mint(READER_SCOPE, {"orchestrators": ["o1"]}, sub="ops-o1"))
    async with open_stream(client, headers=admin) as stream:
        for agent_id in ("a1", "a2"):
            await post_activity(client, f"about {agent_id}", agentId=agent_id, view="security")
        frames = await until_end(client, stream)
    assert [f.data["title"] for f in frames if f.event == "activity"] == ["about a1", "end"]
    feed = await client.get("/api/activity?view=security", headers=admin)
    assert [row["title"] for row in await feed.get_json()] == ["about a1"]


async def test_an_unconstrained_token_admin_reads_every_token_audit(client: Any, mint: Any) -> None:
    admin = bearer(mint(READER_SCOPE, sub="ops"))
    async with open_stream(client, headers=admin) as stream:
        theirs = await issue_o2_token(client)
        frames = await until_end(client, stream)
    assert len(audits_of([f.data for f in frames if f.event == "activity"], theirs)) == 1
    feed = await client.get("/api/activity?view=security", headers=admin)
    assert [row["title"] for row in audits_of(await feed.get_json(), theirs)] == ["Token issued"]
