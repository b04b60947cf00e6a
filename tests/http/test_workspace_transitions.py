"""Workspace actions follow the transitions table: allowed, or 409 with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.repo.rules import TRANSITIONS
from relay.domain.workspaces import ACTIONS, STATUSES
from tests.actors.repo.test_transitions import EXPECTED
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.test_workspaces import action, get_ws, leases, make_workspace

# From the literal copy, so an accidental edit of the table fails the HTTP matrix too.
PAIRS = [(name, status) for name in ACTIONS for status in STATUSES]
ALLOWED_CODE = {"merge": 202, "cleanup": 202}


async def commands(client: Any) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = await (await client.get("/api/commands", headers=H)).get_json()
    return body


@pytest.mark.parametrize(("name", "status"), PAIRS)
async def test_every_action_from_every_status(client: Any, name: str, status: str) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, status=status)
    before = await get_ws(client, "w1")
    response = await action(client, "w1", action=name)
    if status in EXPECTED[name]:
        assert response.status_code == ALLOWED_CODE.get(name, 200), await response.get_data()
        return
    assert response.status_code == 409
    assert await response.get_json() == {"error": f"workspace is {status}; cannot {name}"}
    assert await get_ws(client, "w1") == before
    assert await commands(client) == []
    assert await leases(client) == []
    titles = [e["title"] for e in await (await client.get("/api/activity", headers=H)).get_json()]
    assert not [title for title in titles if title.startswith("Workspace ")]


async def test_the_transitions_route_serves_the_table(client: Any) -> None:
    response = await client.get("/api/workspace-transitions", headers=H)
    assert response.status_code == 200
    body = await response.get_json()
    assert body == {"actions": EXPECTED}
    assert body == {"actions": {name: list(statuses) for name, statuses in TRANSITIONS.items()}}


async def test_the_transitions_route_needs_agent_read(client: Any, mint: Any) -> None:
    assert (await client.get("/api/workspace-transitions")).status_code == 401
    token = mint(["command:read"])
    response = await client.get("/api/workspace-transitions", headers=bearer(token))
    assert response.status_code == 403
    reader = mint(["agent:read"])
    response = await client.get("/api/workspace-transitions", headers=bearer(reader))
    assert response.status_code == 200


async def test_request_review_does_not_reopen_a_merged_workspace(client: Any) -> None:
    await make_workspace(client, status="merged")
    response = await action(client, "w1", action="request-review")
    assert response.status_code == 409
    assert await response.get_json() == {"error": "workspace is merged; cannot request-review"}
    assert (await get_ws(client, "w1"))["status"] == "merged"


async def test_a_cleaned_workspace_can_still_be_purged(client: Any) -> None:
    await make_workspace(client, status="cleaned")
    assert (await action(client, "w1", action="cleanup")).status_code == 409
    response = await client.delete("/api/workspaces/w1", headers=H)
    assert response.status_code == 200
    assert (await client.get("/api/workspaces/w1", headers=H)).status_code == 404


async def test_a_cleanup_asked_again_returns_to_the_first_status_if_it_fails(client: Any) -> None:
    orchestrator = await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, status="abandoned")
    assert (await action(client, "w1", action="cleanup")).status_code == 202
    again = await action(client, "w1", action="cleanup")
    assert again.status_code == 202
    command = (await again.get_json())["command"]
    response = await client.patch(
        f"/api/commands/{command['id']}",
        json={"status": "failed", "error": "busy"},
        headers=bearer(orchestrator["token"]),
    )
    assert response.status_code == 200
    assert (await get_ws(client, "w1"))["status"] == "abandoned"
