"""Activity rows name the orchestrator they concern: a token limited by orchestrator reads
its own orchestrators' rows and the relay's own, in the feed and on the stream alike, and
no other orchestrator's command and agent audits or its agents' messages."""

from __future__ import annotations

from typing import Any

from relay.actors.runtime.directory import AgentFacts
from tests.conftest import bearer, root_headers, services_of
from tests.http.helpers import create_command, register_orchestrator
from tests.http.sse_client import EventStream, Frame, open_stream, post_activity, until_end

H = root_headers()


async def two_hosts(client: Any) -> dict[str, str]:
    """o1 with a1, o2 with a2 and a3, each working under its host's base dir (a
    path-limited token acts for an agent by its stored cwd); o1's runtime token's headers."""
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    for agent_id, orchestrator_id in (("a1", "o1"), ("a2", "o2"), ("a3", "o2")):
        body = {
            "id": agent_id,
            "orchestratorId": orchestrator_id,
            "meta": {"cwd": f"/srv/{orchestrator_id}/{agent_id}"},
        }
        response = await client.post("/api/agents", json=body, headers=H)
        assert response.status_code == 201
    return bearer(o1["token"])


async def audits_of_both(client: Any) -> None:
    """A command to each orchestrator and to one agent of each (their audit rows), and a
    row of the relay's own."""
    for target in ("o2", "a2", "o1", "a1"):
        await create_command(client, target, "agent.compact" if target[0] == "a" else "test.noop")
    await post_activity(client, "relay-wide")


async def messages_then_end(client: Any, stream: EventStream) -> list[Frame]:
    """A message between o2's agents and one from a1 to itself, as root; then every frame
    the stream sends up to a row titled "end"."""
    for sender, to in (("a2", "a3"), ("a1", "a1")):
        response = await client.post(
            "/api/messages", json={"from": sender, "to": to, "body": "hi"}, headers=H
        )
        assert response.status_code == 201, await response.get_data()
    return await until_end(client, stream)


def about(rows: list[dict[str, Any]]) -> set[str]:
    """The agents and orchestrators the rows name, by agent, orchestrator or target."""
    named: set[str] = set()
    for row in rows:
        named.update(
            value
            for value in (
                row.get("agentId"),
                row.get("orchestratorId"),
                row["metadata"].get("target"),
            )
            if isinstance(value, str)
        )
    return named


async def test_the_feed_withholds_other_orchestrators_rows(client: Any) -> None:
    token = await two_hosts(client)
    await audits_of_both(client)
    everything = await (await client.get("/api/activity", headers=H)).get_json()
    assert {"o2", "a2"} <= about(everything)
    mine = await (await client.get("/api/activity", headers=token)).get_json()
    assert about(mine) == {"o1", "a1"}
    assert "relay-wide" in [row["title"] for row in mine]
    commands = [row for row in mine if row.get("view") == "commands"]
    assert commands
    assert {row["orchestratorId"] for row in commands} == {"o1"}
    # The filters still apply on top: asking for another orchestrator's agent is refused.
    refused = await client.get("/api/activity", query_string={"agentId": "a2"}, headers=token)
    assert refused.status_code == 403


async def test_the_stream_withholds_other_orchestrators_rows_and_messages(client: Any) -> None:
    token = await two_hosts(client)
    async with open_stream(client) as stream:
        await post_activity(client, "start")
        start = await stream.next_event()
    async with open_stream(client, headers=token) as stream:
        await audits_of_both(client)
        live = await messages_then_end(client, stream)
    rows = [f.data for f in live if f.event == "activity"]
    assert about(rows) == {"o1", "a1"}
    messages = [f.data["message"] for f in live if f.event == "message"]
    assert [(m["from"], m["to"]) for m in messages] == [("a1", "a1")]
    assert {f.event for f in live} >= {"activity", "command", "message", "delivery"}
    headers = {**token, "Last-Event-ID": str(start.id)}
    async with open_stream(client, headers=headers) as stream:
        replayed = [await stream.next_event() for _ in range(len(live))]
    assert [f.id for f in replayed] == [f.id for f in live]


async def test_another_orchestrators_workspace_rows_are_withheld(client: Any) -> None:
    """A workspace with no agent, created and deleted by o2: its rows (deleted with it,
    so named by the workspace's orchestrator as written) reach neither o1's feed nor its
    stream."""
    token = await two_hosts(client)
    o2 = bearer((await register_orchestrator(client, "o2", "/srv/o2"))["token"])
    async with open_stream(client, headers=token) as stream:
        created = await client.post(
            "/api/workspaces",
            json={"orchestratorId": "o2", "repoRoot": "/srv/o2/r", "worktreePath": "/srv/o2/w"},
            headers=o2,
        )
        assert created.status_code == 201, await created.get_data()
        ws_id = (await created.get_json())["workspace"]["id"]
        assert (await client.delete(f"/api/workspaces/{ws_id}", headers=o2)).status_code == 200
        live = await until_end(client, stream)
    everything = await (await client.get("/api/activity", headers=H)).get_json()
    about_w = [row for row in everything if row["metadata"].get("workspaceId") == ws_id]
    assert about_w
    assert {row["orchestratorId"] for row in about_w} == {"o2"}
    mine = await (await client.get("/api/activity", headers=token)).get_json()
    assert [row for row in mine if "/srv/o2" in str(row)] == []
    assert [f.data for f in live if "/srv/o2" in str(f.data)] == []


async def test_after_a_restart_the_stream_judges_agents_not_active_since(open_app: Any) -> None:
    """The guard judges an agent's events by the orchestrator it is stored under, from
    memory: a restarted relay remembers every stored agent at start-up, so o1's stream is
    sent a message between its agents that nothing has loaded since, and not o2's."""
    async with open_app() as first:
        token = await two_hosts(first.test_client())
        managed = {"id": "a4", "orchestratorId": "o1", "meta": {"runnerManaged": True}}
        response = await first.test_client().post("/api/agents", json=managed, headers=H)
        assert response.status_code == 201
    async with open_app() as second:
        remembered, unknown = services_of(second).runtime.agents.known(["a1", "a4", "zz"])
        assert remembered == {
            "a1": AgentFacts("o1", runner_managed=False, cwd="/srv/o1/a1"),
            "a4": AgentFacts("o1", runner_managed=True, cwd=None),
        }
        assert unknown == ["zz"]
        client = second.test_client()
        async with open_stream(client, headers=token) as stream:
            live = await messages_then_end(client, stream)
    messages = [f.data["message"] for f in live if f.event == "message"]
    assert [(m["from"], m["to"]) for m in messages] == [("a1", "a1")]


async def test_an_agent_under_no_orchestrator_is_not_an_orchestrators(client: Any) -> None:
    """A row of an agent registered under no orchestrator names none: it is not the relay's
    own either, and a token limited by orchestrator does not read it (deliberately strict:
    no host vouches for that agent)."""
    token = await two_hosts(client)
    response = await client.post("/api/agents", json={"id": "free"}, headers=H)
    assert response.status_code == 201
    await post_activity(client, "free agent's", agentId="free")
    everything = await (await client.get("/api/activity", headers=H)).get_json()
    assert "free agent's" in [row["title"] for row in everything]
    mine = await (await client.get("/api/activity", headers=token)).get_json()
    assert "free agent's" not in [row["title"] for row in mine]


async def test_a_posted_row_is_never_attributed_by_what_it_says(client: Any) -> None:
    """o1 posting a row whose metadata names o2's workspace plants nothing in o2's feed: a
    posted row is attributed by the agent it names (authorized), never by its metadata."""
    token = await two_hosts(client)
    o2 = bearer((await register_orchestrator(client, "o2", "/srv/o2"))["token"])
    created = await client.post(
        "/api/workspaces",
        json={"orchestratorId": "o2", "repoRoot": "/srv/o2/r", "worktreePath": "/srv/o2/w"},
        headers=o2,
    )
    ws_id = (await created.get_json())["workspace"]["id"]
    response = await client.post(
        "/api/activity",
        json={
            "title": "Workspace merged",
            "view": "orchestrators",
            "metadata": {"workspaceId": ws_id},
        },
        headers=token,
    )
    assert response.status_code == 201
    # Its author's host (the token's one orchestrator), never the one its metadata names.
    assert (await response.get_json())["orchestratorId"] == "o1"
    theirs = await (await client.get("/api/activity", headers=o2)).get_json()
    assert "Workspace merged" not in [row["title"] for row in theirs]
