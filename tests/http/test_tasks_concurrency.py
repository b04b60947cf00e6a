"""Promise 1 under load: of concurrent claims one wins, and claim-next hands every task
to exactly one agent."""

from __future__ import annotations

from typing import Any

import trio

from relay.actors import tasking
from relay.domain.tasks import Task, new_context_id, new_task_id
from relay.http.services import Services
from tests.http.helpers import H
from tests.http.test_messages import agent, error_of


async def test_100_concurrent_claims_of_one_task_have_one_winner(client: Any) -> None:
    agents = [f"a{i}" for i in range(100)]
    for agent_id in agents:
        await agent(client, agent_id)
    response = await client.post("/api/tasks", json={"title": "one"}, headers=H)
    task_id = (await response.get_json())["id"]
    outcomes: list[tuple[int, str]] = []

    async def one(agent_id: str) -> None:
        response = await client.post(
            f"/api/tasks/{task_id}/claim", json={"agentId": agent_id}, headers=H
        )
        if response.status_code == 200:
            outcomes.append((200, (await response.get_json())["task"]["assignee"]))
        else:
            outcomes.append(await error_of(response))

    async with trio.open_nursery() as nursery:
        for agent_id in agents:
            nursery.start_soon(one, agent_id)
    winners = [who for code, who in outcomes if code == 200]
    assert len(winners) == 1
    assert sorted(outcomes).count((409, "task is assigned")) == 99
    stored = await (await client.get(f"/api/tasks/{task_id}", headers=H)).get_json()
    assert (stored["assignee"], stored["attempt"], stored["version"]) == (winners[0], 1, 2)


async def test_200_agents_claim_1000_tasks_each_exactly_once(
    client: Any, services: Services
) -> None:
    rt = services.runtime
    agents = [f"w{i}" for i in range(200)]
    async with trio.open_nursery() as nursery:
        for agent_id in agents:
            nursery.start_soon(agent, client, agent_id)
    now = rt.clock.now_ms()

    async def create(n: int) -> None:
        for i in range(n, 1000, 50):
            draft = Task(
                id=new_task_id(),
                title=f"t{i}",
                body="",
                context_id=new_context_id(),
                created_by="root",
                status="submitted",
                attempt=0,
                max_attempts=3,
                version=1,
                created_at=now + i,
                updated_at=now + i,
            )
            await tasking.create(rt, draft)

    async with trio.open_nursery() as nursery:
        for n in range(50):
            nursery.start_soon(create, n)
    claimed: dict[str, list[str]] = {}

    async def work(agent_id: str) -> None:
        while True:
            response = await client.post("/api/tasks/claim", json={"agentId": agent_id}, headers=H)
            assert response.status_code == 200, await response.get_data()
            task = (await response.get_json())["task"]
            if task is None:
                return
            assert task["assignee"] == agent_id
            claimed.setdefault(task["id"], []).append(agent_id)

    async with trio.open_nursery() as nursery:
        for agent_id in agents:
            nursery.start_soon(work, agent_id)
    assert len(claimed) == 1000
    assert all(len(holders) == 1 for holders in claimed.values())
    listed = await (await client.get("/api/tasks?status=submitted&limit=500", headers=H)).get_json()
    assert listed == []
