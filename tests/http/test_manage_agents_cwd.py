"""A token limited by ``cwd`` reads and manages only the agents whose stored working
directory lies within its paths (``access.reaches``, through ``allow_agent``): a
dashboard token limited to o1's base dir reads, lists, patches, deletes, heartbeats and
commands no agent working in /srv/o2, nor one that recorded no working directory, and
its event stream carries none of their cards. Acting for them (inbox, send, MCP) is
``test_acts_for_cwd``'s."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, create_command
from tests.http.sse_client import open_stream, until_end
from tests.http.test_acts_for_cwd import FAR, NEAR, NOWHERE, hosts

OPS_SCOPES = [
    "activity:read",
    "agent:read",
    "agent:write",
    "command:read",
    "command:write",
]
FORBIDDEN = (403, {"error": "forbidden"})
OUTSIDE = (FAR, NOWHERE)


def ops(mint: Any) -> dict[str, str]:
    """An operator's dashboard token limited to o1's base dir."""
    return bearer(mint(OPS_SCOPES, {"cwd": ["/srv/o1"]}, sub="ops", role="dashboard"))


async def outcome(response: Any) -> tuple[int, Any]:
    return response.status_code, await response.get_json()


async def card(client: Any, agent_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/agents/{agent_id}", headers=H)
    assert response.status_code == 200, await response.get_data()
    found: dict[str, Any] = await response.get_json()
    return found


async def test_a_path_limited_operator_reads_only_the_agents_within_its_paths(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    token = ops(mint)
    listed = await (await client.get("/api/agents", headers=token)).get_json()
    assert [agent["id"] for agent in listed] == [NEAR]
    assert (await client.get(f"/api/agents/{NEAR}", headers=token)).status_code == 200
    for agent_id in OUTSIDE:
        for path in ("", "/actions", "/timeline"):
            response = await client.get(f"/api/agents/{agent_id}{path}", headers=token)
            assert await outcome(response) == FORBIDDEN, (agent_id, path)
        response = await client.get(f"/api/activity?agentId={agent_id}", headers=token)
        assert await outcome(response) == FORBIDDEN, agent_id


async def test_a_path_limited_operator_changes_no_agent_outside_its_paths(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    token = ops(mint)
    for agent_id in OUTSIDE:
        before = await card(client, agent_id)
        attempts = (
            client.patch(f"/api/agents/{agent_id}", json={"name": "Mine"}, headers=token),
            client.post(f"/api/agents/{agent_id}/heartbeat", json={}, headers=token),
            client.post(
                f"/api/agents/{agent_id}/timeline",
                json={"kind": "note", "title": "t"},
                headers=token,
            ),
            client.post(
                f"/api/agents/{agent_id}/actions", json={"action": "compact"}, headers=token
            ),
            client.post(
                "/api/commands", json={"type": "test.noop", "target": agent_id}, headers=token
            ),
            client.delete(f"/api/agents/{agent_id}", headers=token),
        )
        for attempt in attempts:
            assert await outcome(await attempt) == FORBIDDEN, agent_id
        assert await card(client, agent_id) == before  # nothing changed, nothing deleted
        commands = await (
            await client.get(f"/api/commands?target={agent_id}", headers=H)
        ).get_json()
        assert commands == []
    # Within its paths it manages as before.
    response = await client.patch(f"/api/agents/{NEAR}", json={"name": "Mine"}, headers=token)
    assert response.status_code == 200, await response.get_data()
    response = await client.post(
        "/api/commands", json={"type": "test.noop", "target": NEAR}, headers=token
    )
    assert response.status_code == 201, await response.get_data()


async def test_a_path_limited_operator_reads_no_command_to_an_agent_outside_its_paths(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    token = ops(mint)
    sent = {agent_id: (await create_command(client, agent_id))["id"] for agent_id in (NEAR, FAR)}
    listed = await (await client.get("/api/commands", headers=token)).get_json()
    assert [command["id"] for command in listed] == [sent[NEAR]]
    response = await client.get(f"/api/commands/{sent[FAR]}", headers=token)
    assert await outcome(response) == FORBIDDEN
    assert (await client.get(f"/api/commands/{sent[NEAR]}", headers=token)).status_code == 200


async def test_the_stream_carries_no_card_of_an_agent_outside_the_callers_paths(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    async with open_stream(client, headers=ops(mint)) as stream:
        for agent_id in (FAR, NOWHERE, NEAR):
            response = await client.patch(
                f"/api/agents/{agent_id}", json={"name": f"n-{agent_id}"}, headers=H
            )
            assert response.status_code == 200, await response.get_data()
        await create_command(client, FAR)
        frames = await until_end(client, stream)
    cards = [f.data["agent"]["id"] for f in frames if f.event == "agent"]
    assert cards == [NEAR]
    assert [f for f in frames if f.event == "command"] == []
