"""Task leases across a restart and by the job: a lease that ran out while nobody asked
is released at the next claim (or by ``task-lease-expiry``); the last attempt needs a
human, and the creator is told. SSE ``task`` events follow every change."""

from __future__ import annotations

from typing import Any

from relay.auth.tokens import TokenSpec
from relay.clock import ManualClock
from tests.conftest import bearer, root_headers, services_of
from tests.http.sse_client import open_stream

H = root_headers()


async def _agents(client: Any, *ids: str) -> None:
    for agent_id in ids:
        response = await client.post(
            "/api/agents", json={"id": agent_id, "name": agent_id}, headers=H
        )
        assert response.status_code in (200, 201)


async def _claim(client: Any, task_id: str, agent_id: str) -> Any:
    return await client.post(
        f"/api/tasks/{task_id}/claim", json={"agentId": agent_id, "leaseSeconds": 30}, headers=H
    )


async def test_a_lease_lost_across_a_restart(open_app: Any, clock: ManualClock) -> None:
    async with open_app() as app:
        client = app.test_client()
        await _agents(client, "a1", "a2")
        created = await client.post("/api/tasks", json={"title": "t", "maxAttempts": 2}, headers=H)
        task_id = (await created.get_json())["id"]
        held = await (await _claim(client, task_id, "a1")).get_json()
        assert held["task"]["attempt"] == 1
    clock.advance(31)
    async with open_app() as app:
        client = app.test_client()
        again = await (await _claim(client, task_id, "a2")).get_json()
        assert (again["task"]["assignee"], again["task"]["attempt"]) == ("a2", 2)
        # a1 lost it: its report is refused.
        late = await client.post(
            f"/api/tasks/{task_id}/status",
            json={"status": "working"},
            headers=bearer_for(app, "a1"),
        )
        assert late.status_code == 409
        assert (await late.get_json())["error"] == "task is not assigned to you"
    clock.advance(31)
    async with open_app() as app:
        client = app.test_client()
        # The start-up release ran: attempts exhausted, it needs a human.
        task = await (await client.get(f"/api/tasks/{task_id}", headers=H)).get_json()
        assert (task["status"], task["assignee"], task["attempt"]) == ("needs_human", None, 2)
        refused = await _claim(client, task_id, "a1")
        assert (await refused.get_json())["error"] == "task is needs_human"


def bearer_for(app: Any, agent_id: str) -> dict[str, str]:
    """A token acting for ``agent_id`` only, minted by an app opened with ``open_app``."""
    token, _ = services_of(app).auth.mint(
        TokenSpec(
            sub=agent_id,
            role="provider",
            scope=("task:read", "task:write"),
            constraints={"agents": [agent_id]},
            ttl_seconds=3600,
        )
    )
    return bearer(token)


async def test_the_job_releases_and_tells_the_creator(
    client: Any, clock: ManualClock, mint: Any
) -> None:
    await _agents(client, "boss", "a1")
    creator = bearer(mint(["task:read", "task:write"], {"agents": ["boss"]}))
    first = await client.post("/api/tasks", json={"title": "t", "maxAttempts": 1}, headers=creator)
    first_id = (await first.get_json())["id"]
    second = await client.post("/api/tasks", json={"title": "u"}, headers=creator)
    second_id = (await second.get_json())["id"]
    await _claim(client, first_id, "a1")
    await _claim(client, second_id, "a1")
    clock.advance(29)
    run = await client.post("/api/maintenance/jobs/task-lease-expiry/run", headers=H)
    assert (await run.get_json())["result"] == {"requeued": 0, "needsHuman": 0}
    clock.advance(1)
    run = await client.post("/api/maintenance/jobs/task-lease-expiry/run", headers=H)
    assert (await run.get_json())["result"] == {"requeued": 1, "needsHuman": 1}
    inbox = await client.get("/api/agents/boss/inbox?peek=true", headers=H)
    bodies = [i["message"]["body"] for i in (await inbox.get_json())["items"]]
    assert bodies == [f"task {first_id} is needs_human"]
    [item] = (await inbox.get_json())["items"]
    assert item["message"]["from"] == "relay"


async def test_sse_task_events(client: Any) -> None:
    await _agents(client, "a1")
    async with open_stream(client, {"view": "tasks"}) as stream:
        created = await client.post("/api/tasks", json={"title": "t"}, headers=H)
        task_id = (await created.get_json())["id"]
        await _claim(client, task_id, "a1")
        frames = await stream.events(2)
    changes = [(f.event, f.data["change"], f.data["task"]["status"]) for f in frames]
    assert changes == [("task", "created", "submitted"), ("task", "updated", "assigned")]
    assert frames[0].data["task"]["id"] == task_id
