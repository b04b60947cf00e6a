"""Task routes (spec/tasks.md "Tasks"): every route, its errors, its constraints, and the
promises (one holder, final never changes, versions, leases)."""

from __future__ import annotations

from typing import Any

import pytest

from relay.clock import ManualClock
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_artifacts import uploaded
from tests.http.test_messages import agent, error_of
from tests.http.test_wake import managed_agent, wakes

WRITE = ["task:read", "task:write"]


async def create(client: Any, headers: Any = None, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/tasks", json={"title": "t", **body}, headers=headers or H)
    assert response.status_code == 201, await response.get_data()
    task: dict[str, Any] = await response.get_json()
    return task


async def claim(client: Any, task_id: str | None = None, headers: Any = None, **body: Any) -> Any:
    path = f"/api/tasks/{task_id}/claim" if task_id else "/api/tasks/claim"
    return await client.post(path, json=body, headers=headers or H)


async def status(client: Any, task_id: str, headers: Any = None, **body: Any) -> Any:
    return await client.post(f"/api/tasks/{task_id}/status", json=body, headers=headers or H)


async def get(client: Any, task_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/tasks/{task_id}", headers=H)
    assert response.status_code == 200, await response.get_data()
    task: dict[str, Any] = await response.get_json()
    return task


async def claimed(client: Any, task_id: str, agent_id: str = "a1", **body: Any) -> dict[str, Any]:
    response = await claim(client, task_id, agentId=agent_id, **body)
    assert response.status_code == 200, await response.get_data()
    task: dict[str, Any] = (await response.get_json())["task"]
    return task


async def inbox_bodies(client: Any, agent_id: str) -> list[str]:
    response = await client.get(f"/api/agents/{agent_id}/inbox?peek=true", headers=H)
    items = (await response.get_json())["items"]
    return [i["message"]["body"] for i in items if i["message"]["from"] == "relay"]


async def test_create_defaults(client: Any, clock: ManualClock) -> None:
    task = await create(client, body="do it")
    assert task["id"].startswith("tsk_")
    assert len(task["id"]) == 36
    assert task["contextId"].startswith("ctx_")
    assert len(task["contextId"]) == 36
    assert task["status"] == "submitted"
    assert task["attempt"] == 0
    assert task["maxAttempts"] == 3
    assert task["version"] == 1
    assert task["createdBy"] == "root"
    assert task["assignee"] is None
    assert task["ready"] is True
    assert task["artifacts"] == []
    assert task["routingHints"] == {"requiredCapabilities": [], "labels": [], "tags": []}
    assert task["createdAt"] == clock.now_ms()
    assert await get(client, task["id"]) == task


async def test_create_as_an_agent_token_records_the_agent(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    token = bearer(mint(WRITE, {"agents": ["a1"]}))
    task = await create(client, token)
    assert task["createdBy"] == "a1"


async def test_create_errors(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    cases = [
        ({}, "title is required"),
        ({"title": ""}, "title must not be empty"),
        ({"title": "x" * 201}, "title must be at most 200 characters"),
        ({"title": "t", "body": "x" * 65_537}, "body must be at most 65536 bytes"),
        ({"title": "t", "maxAttempts": 0}, "maxAttempts must be at least 1"),
        ({"title": "t", "maxAttempts": 21}, "maxAttempts must be at most 20"),
        ({"title": "t", "dependsOn": ["x"] * 21}, "dependsOn must have at most 20 items"),
        # Longer than any task id: a 400, not the store's length check as a 500.
        ({"title": "t", "dependsOn": ["x" * 37]}, "dependsOn.0 must be at most 36 characters"),
        (
            {"title": "t", "referenceTaskIds": ["tsk_1", ""]},
            "referenceTaskIds.1 must not be empty",
        ),
    ]
    for body, message in cases:
        response = await client.post("/api/tasks", json=body, headers=H)
        assert await error_of(response) == (400, message), body
    for body, message in [
        ({"title": "t", "dependsOn": ["tsk_nope"]}, "task not found"),
        ({"title": "t", "referenceTaskIds": ["tsk_nope"]}, "task not found"),
        ({"title": "t", "routingHints": {"preferredAgentId": "ghost"}}, "agent not found"),
    ]:
        response = await client.post("/api/tasks", json=body, headers=H)
        assert await error_of(response) == (404, message), body
    response = await client.post("/api/tasks", json={"title": "t"})
    assert response.status_code == 401
    reader = bearer(mint(["task:read"], {"agents": ["a1"]}))
    response = await client.post("/api/tasks", json={"title": "t"}, headers=reader)
    assert await error_of(response) == (403, "forbidden")
    # A subject naming an agent the token does not act for cannot create as it.
    posing = bearer(mint(WRITE, {"agents": ["a2", "a3"]}, sub="a1"))
    response = await client.post("/api/tasks", json={"title": "t"}, headers=posing)
    assert await error_of(response) == (403, "forbidden")
    listed = await (await client.get("/api/tasks", headers=H)).get_json()
    assert listed == []


async def test_read_and_list(client: Any, mint: Any, clock: ManualClock) -> None:
    await agent(client, "a1")
    first = await create(client, title="one", contextId="ctx_a")
    clock.advance(1)
    second = await create(client, title="two", dependsOn=[first["id"]])
    assert second["ready"] is False
    listed = await (await client.get("/api/tasks", headers=H)).get_json()
    assert [t["id"] for t in listed] == [second["id"], first["id"]]
    by_context = await (await client.get("/api/tasks?contextId=ctx_a", headers=H)).get_json()
    assert [t["id"] for t in by_context] == [first["id"]]
    ready = await (await client.get("/api/tasks?ready=true", headers=H)).get_json()
    assert [t["id"] for t in ready] == [first["id"]]
    waiting = await (await client.get("/api/tasks?ready=false", headers=H)).get_json()
    assert [t["id"] for t in waiting] == [second["id"]]
    await claimed(client, first["id"])
    mine = await (await client.get("/api/tasks?assignee=a1", headers=H)).get_json()
    assert [t["id"] for t in mine] == [first["id"]]
    assigned = await (await client.get("/api/tasks?status=assigned", headers=H)).get_json()
    assert [t["id"] for t in assigned] == [first["id"]]
    by_root = await (await client.get("/api/tasks?createdBy=root&limit=1", headers=H)).get_json()
    assert len(by_root) == 1
    # task:read sees every task, whatever its constraints.
    reader = bearer(mint(["task:read"], {"agents": ["zz"]}))
    assert len(await (await client.get("/api/tasks", headers=reader)).get_json()) == 2
    for query, message in [
        ("status=nope", "status must be one of"),
        ("ready=maybe", "ready must be true or false"),
        ("limit=0", "limit must be between 1 and 500"),
    ]:
        response = await client.get(f"/api/tasks?{query}", headers=H)
        code, error = await error_of(response)
        assert (code, error[: len(message)]) == (400, message), query
    response = await client.get("/api/tasks/tsk_" + "0" * 32, headers=H)
    assert await error_of(response) == (404, "task not found")
    response = await client.get("/api/tasks/" + "x" * 37, headers=H)
    assert await error_of(response) == (404, "task not found")
    assert (await client.get("/api/tasks")).status_code == 401
    nobody = bearer(mint(["message:read"]))
    assert await error_of(await client.get("/api/tasks", headers=nobody)) == (403, "forbidden")


async def test_the_lifecycle_and_versions(client: Any, clock: ManualClock) -> None:
    await agent(client, "a1")
    task = await create(client)
    held = await claimed(client, task["id"], leaseSeconds=60)
    assert (held["status"], held["assignee"], held["attempt"], held["version"]) == (
        "assigned",
        "a1",
        1,
        2,
    )
    assert held["leaseExpiresAt"] == clock.now_ms() + 60_000
    clock.advance(10)
    working = await (await status(client, task["id"], status="working", message="on it")).get_json()
    assert working["status"] == "working"
    assert working["statusMessage"] == "on it"
    assert working["version"] == 3
    assert working["leaseExpiresAt"] == clock.now_ms() + 60_000  # renewed by the update
    clock.advance(10)
    beat = await client.post(f"/api/tasks/{task['id']}/heartbeat", json={}, headers=H)
    renewed = await beat.get_json()
    assert renewed["leaseExpiresAt"] == clock.now_ms() + 60_000
    assert renewed["version"] == 3  # a renewal is not a change
    asking = await (await status(client, task["id"], status="input_required")).get_json()
    assert asking["leaseExpiresAt"] is None
    beat = await client.post(f"/api/tasks/{task['id']}/heartbeat", headers=H)
    assert (await beat.get_json())["leaseExpiresAt"] is None  # none in input_required
    back = await (await status(client, task["id"], status="working")).get_json()
    assert back["leaseExpiresAt"] == clock.now_ms() + 60_000
    stale = await status(client, task["id"], status="completed", version=3)
    assert await error_of(stale) == (409, "version conflict: current version is 5")
    art = await uploaded(client, b"the log")
    done = await (
        await status(
            client,
            task["id"],
            status="completed",
            version=5,
            result={"ok": True},
            artifacts=[{"artifactId": art["artifact"]["id"]}],
        )
    ).get_json()
    assert (done["status"], done["version"], done["result"]) == ("completed", 6, {"ok": True})
    assert done["artifacts"] == [art["ref"]]
    assert done["leaseExpiresAt"] is None
    # Final never changes.
    again = await status(client, task["id"], status="working")
    assert await error_of(again) == (409, "task is completed")
    canceled = await client.post(f"/api/tasks/{task['id']}/cancel", json={}, headers=H)
    assert canceled.status_code == 200
    assert await canceled.get_json() == done
    beat = await client.post(f"/api/tasks/{task['id']}/heartbeat", headers=H)
    assert await error_of(beat) == (409, "task is completed")


async def test_status_errors(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    task = await create(client)
    response = await status(client, task["id"], status="working")
    assert await error_of(response) == (409, "task is not assigned to you")
    await claimed(client, task["id"])
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "status is required"),
        ({"status": "assigned"}, "status must be one of"),
        ({"status": "working", "message": "x" * 4001}, "message must be at most 4000"),
        ({"status": "working", "result": "x" * 65_536}, "result must be at most 65536 bytes"),
        (
            {"status": "working", "artifacts": [{"artifactId": "a"}] * 21},
            "artifacts must have at most 20 items",
        ),
        ({"status": "working", "artifacts": [{}]}, "artifacts.0.artifactId is required"),
    ]
    for body, message in cases:
        code, error = await error_of(await status(client, task["id"], **body))
        assert (code, error[: len(message)]) == (400, message), (body, error)
    response = await status(client, task["id"], status="input_required")
    assert await error_of(response) == (409, "cannot move task from assigned to input_required")
    response = await status(client, "tsk_" + "0" * 32, status="working")
    assert await error_of(response) == (404, "task not found")
    # Another agent's token is refused, and so is one naming a1 by its subject only.
    other = bearer(mint(WRITE, {"agents": ["a2"]}))
    response = await status(client, task["id"], other, status="working")
    assert await error_of(response) == (409, "task is not assigned to you")
    posing = bearer(mint(WRITE, {"agents": ["a2"]}, sub="a1"))
    response = await status(client, task["id"], posing, status="working")
    assert await error_of(response) == (409, "task is not assigned to you")
    beat = await client.post(f"/api/tasks/{task['id']}/heartbeat", headers=other)
    assert await error_of(beat) == (409, "task is not assigned to you")
    own = bearer(mint(WRITE, {"agents": ["a1"]}))
    response = await status(client, task["id"], own, status="working")
    assert response.status_code == 200
    assert (await get(client, task["id"]))["version"] == 3
    assert (await status(client, task["id"], status="working")).status_code == 409
    response = await client.post(f"/api/tasks/{task['id']}/status", headers=H)
    assert await error_of(response) == (400, "body required")


async def test_release_requeues_and_the_last_attempt_needs_a_human(client: Any) -> None:
    await agent(client, "a1")
    task = await create(client, maxAttempts=2)
    await claimed(client, task["id"])
    released = await (await status(client, task["id"], status="submitted")).get_json()
    assert (released["status"], released["assignee"], released["attempt"]) == (
        "submitted",
        None,
        1,
    )
    await claimed(client, task["id"])
    human = await (await status(client, task["id"], status="submitted")).get_json()
    assert (human["status"], human["attempt"]) == ("needs_human", 2)
    response = await claim(client, task["id"], agentId="a1")
    assert await error_of(response) == (409, "task is needs_human")
    activity = await (await client.get("/api/activity?view=tasks", headers=H)).get_json()
    titles = [e["title"] for e in activity]
    assert "Task needs a human" in titles
    requeued = await client.post(f"/api/tasks/{task['id']}/requeue", headers=H)
    body = await requeued.get_json()
    assert (body["status"], body["attempt"]) == ("submitted", 0)
    again = await client.post(f"/api/tasks/{task['id']}/requeue", headers=H)
    assert await error_of(again) == (409, "task is submitted; cannot requeue")
    missing = await client.post("/api/tasks/tsk_nope/requeue", headers=H)
    assert await error_of(missing) == (404, "task not found")


async def test_claim_errors_and_constraints(client: Any, mint: Any) -> None:
    await agent(client, "a1", meta={"capabilities": ["py"]})
    await agent(client, "a2")
    task = await create(client, routingHints={"requiredCapabilities": ["py"]})
    response = await claim(client, task["id"])
    assert await error_of(response) == (400, "agentId is required")
    response = await claim(client, task["id"], agentId="ghost")
    assert await error_of(response) == (404, "agent not found")
    response = await claim(client, task["id"], agentId="a2")
    assert await error_of(response) == (409, "agent does not match the task's routing hints")
    response = await claim(client, task["id"], agentId="a1", leaseSeconds=29)
    assert await error_of(response) == (400, "leaseSeconds must be at least 30")
    response = await claim(client, task["id"], agentId="a1", leaseSeconds=3601)
    assert await error_of(response) == (400, "leaseSeconds must be at most 3600")
    # An agent token cannot claim as another agent, nor as an unknown one.
    a2 = bearer(mint(WRITE, {"agents": ["a2"]}))
    response = await claim(client, task["id"], a2, agentId="a1")
    assert await error_of(response) == (403, "forbidden")
    response = await claim(client, None, a2, agentId="ghost")
    assert await error_of(response) == (403, "forbidden")
    a1 = bearer(mint(WRITE, {"agents": ["a1"]}))
    response = await client.post(f"/api/tasks/{task['id']}/claim", headers=a1)
    assert (await response.get_json())["task"]["assignee"] == "a1"
    response = await claim(client, task["id"], agentId="a1")
    assert await error_of(response) == (409, "task is assigned")
    response = await claim(client, "tsk_" + "0" * 32, agentId="a1")
    assert await error_of(response) == (404, "task not found")
    blocked = await create(client, dependsOn=[task["id"]])
    response = await claim(client, blocked["id"], agentId="a1")
    assert await error_of(response) == (409, "task is waiting on dependencies")
    nothing = await claim(client, None, a2)
    assert await nothing.get_json() == {"task": None}
    await status(client, task["id"], status="completed")
    assert (await get(client, blocked["id"]))["ready"] is True
    response = await claim(client, None, a2)
    assert (await response.get_json())["task"]["id"] == blocked["id"]


async def test_claim_next_order_and_eligibility(client: Any, clock: ManualClock) -> None:
    await agent(client, "a1", tags=["gpu"], meta={"label": "x", "provider": "anthropic"})
    await agent(client, "a2")
    old = await create(client, title="old")
    clock.advance(1)
    await create(client, title="tags", routingHints={"tags": ["gpu"]})
    clock.advance(1)
    mine = await create(client, title="mine", routingHints={"preferredAgentId": "a1"})
    clock.advance(1)
    await create(client, title="label", routingHints={"labels": ["x"], "provider": "anthropic"})
    # a2 gets the oldest it may hold; preferences of a1 (not online) do not stop it.
    got = await (await claim(client, None, agentId="a2")).get_json()
    assert got["task"]["id"] == old["id"]
    # a1 gets the task preferring it first.
    got = await (await claim(client, None, agentId="a1")).get_json()
    assert got["task"]["id"] == mine["id"]
    got = await (await claim(client, None, agentId="a1")).get_json()
    assert got["task"]["title"] == "tags"
    got = await (await claim(client, None, agentId="a2")).get_json()
    assert got["task"] is None


async def test_a_task_preferring_an_online_agent_waits_for_it(client: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    await client.post("/api/agents/a1/heartbeat", headers=H)
    task = await create(client, routingHints={"preferredAgentId": "a1"})
    response = await claim(client, task["id"], agentId="a2")
    assert await error_of(response) == (409, "agent does not match the task's routing hints")
    assert (await (await claim(client, None, agentId="a2")).get_json())["task"] is None


async def test_edit(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    creator = bearer(mint(WRITE, {"agents": ["a1"]}))
    task = await create(client, creator, title="old")
    path = f"/api/tasks/{task['id']}"
    edited = await client.patch(path, json={"title": "new", "version": 1}, headers=creator)
    body = await edited.get_json()
    assert (body["title"], body["version"]) == ("new", 2)
    same = await client.patch(path, json={"title": "new"}, headers=creator)
    assert (await same.get_json())["version"] == 2  # nothing changed
    stale = await client.patch(path, json={"title": "x", "version": 1}, headers=H)
    assert await error_of(stale) == (409, "version conflict: current version is 2")
    other = bearer(mint(WRITE, {"agents": ["a2"]}))
    response = await client.patch(path, json={"title": "x"}, headers=other)
    assert await error_of(response) == (403, "forbidden")
    response = await client.patch(path, json={"title": ""}, headers=H)
    assert await error_of(response) == (400, "title must not be empty")
    hints = {"routingHints": {"preferredAgentId": "ghost"}}
    response = await client.patch(path, json=hints, headers=H)
    assert await error_of(response) == (404, "agent not found")
    response = await client.patch("/api/tasks/tsk_nope", json={"title": "x"}, headers=H)
    assert await error_of(response) == (404, "task not found")
    await claimed(client, task["id"], "a2")
    response = await client.patch(path, json={"title": "x"}, headers=H)
    assert await error_of(response) == (409, "task is assigned; cannot edit")
    assert (await get(client, task["id"]))["title"] == "new"


async def test_cancel_by_creator_or_operator_only(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    creator = bearer(mint(WRITE, {"agents": ["a1"]}))
    task = await create(client, creator)
    other = bearer(mint(WRITE, {"agents": ["a2"]}))
    path = f"/api/tasks/{task['id']}/cancel"
    assert await error_of(await client.post(path, headers=other)) == (403, "forbidden")
    response = await client.post(path, json={"reason": "no longer needed"}, headers=creator)
    body = await response.get_json()
    assert (body["status"], body["statusMessage"], body["version"]) == (
        "canceled",
        "no longer needed",
        2,
    )
    # The creator caused it: it is not told.
    assert await inbox_bodies(client, "a1") == []
    response = await client.post("/api/tasks/tsk_nope/cancel", headers=H)
    assert await error_of(response) == (404, "task not found")
    response = await client.post(path, json={"reason": "x" * 4001}, headers=H)
    assert (await error_of(response))[0] == 400
    # A sub-created task (not an agent): that sub manages it.
    plain = bearer(mint(WRITE, sub="ci-bot"))
    own = await create(client, plain)
    assert own["createdBy"] == "ci-bot"
    response = await client.post(f"/api/tasks/{own['id']}/cancel", headers=plain)
    assert (await response.get_json())["status"] == "canceled"


async def test_a_bound_agent_outside_the_tokens_other_constraints_is_no_creator(
    client: Any, mint: Any
) -> None:
    # {agents: [a2], orchestrators: [o1]} does not act for o2's a2: no task in a2's name.
    await agent(client, "a2", orchestratorId="o2")
    posing = bearer(mint(WRITE, {"agents": ["a2"], "orchestrators": ["o1"]}))
    response = await client.post("/api/tasks", json={"title": "t"}, headers=posing)
    assert await error_of(response) == (403, "forbidden")


async def test_a_constrained_dashboard_token_manages_only_its_agents_tasks(
    client: Any, mint: Any
) -> None:
    # An operator skips the creator rule only unconstrained: a dashboard token limited to
    # a1 is judged like any token, and a2's task is not its to edit, cancel or requeue.
    await agent(client, "a1")
    await agent(client, "a2")
    task = await create(client, bearer(mint(WRITE, {"agents": ["a2"]})))
    limited = bearer(mint(WRITE, {"agents": ["a1"]}, sub="ops", role="dashboard"))
    path = f"/api/tasks/{task['id']}"
    response = await client.patch(path, json={"title": "mine now"}, headers=limited)
    assert await error_of(response) == (403, "forbidden")
    response = await client.post(f"{path}/cancel", headers=limited)
    assert await error_of(response) == (403, "forbidden")
    response = await client.post(f"{path}/requeue", headers=limited)
    assert await error_of(response) == (403, "forbidden")
    assert (await get(client, task["id"]))["status"] == "submitted"
    # Its own agent's task it manages, and an unconstrained dashboard token any.
    mine = await create(client, bearer(mint(WRITE, {"agents": ["a1"]})))
    response = await client.post(f"/api/tasks/{mine['id']}/cancel", headers=limited)
    assert (await response.get_json())["status"] == "canceled"
    ops = bearer(mint(WRITE, sub="ops", role="dashboard"))
    response = await client.post(f"{path}/cancel", headers=ops)
    assert (await response.get_json())["status"] == "canceled"


async def test_registering_an_agent_named_like_a_creators_sub_takes_nothing(
    client: Any, mint: Any
) -> None:
    # Whether the creator is an agent is as stored at create: a token limited to
    # orchestrator o2 that registers an agent named "ci-bot" does not become the
    # creator of ci-bot's task, and ci-bot keeps it.
    plain = bearer(mint(WRITE, sub="ci-bot"))
    task = await create(client, plain)
    squatter = bearer(
        mint(["agent:write", *WRITE], {"orchestrators": ["o2"]}, role="orchestrator", sub="o2")
    )
    response = await client.post(
        "/api/agents", json={"id": "ci-bot", "orchestratorId": "o2"}, headers=squatter
    )
    assert response.status_code == 201
    path = f"/api/tasks/{task['id']}"
    response = await client.patch(path, json={"title": "mine"}, headers=squatter)
    assert await error_of(response) == (403, "forbidden")
    response = await client.post(f"{path}/cancel", headers=squatter)
    assert await error_of(response) == (403, "forbidden")
    response = await client.post(f"{path}/cancel", headers=plain)
    assert (await response.get_json())["status"] == "canceled"
    # Nor is it told of the task as its creator.
    assert await inbox_bodies(client, "ci-bot") == []


async def test_the_creator_is_told_and_the_preferred_agent_woken(client: Any, mint: Any) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    creator = bearer(mint(WRITE, {"agents": ["a1"]}))
    task = await create(client, creator)
    await claimed(client, task["id"], "a2")
    await status(client, task["id"], status="working")
    assert await inbox_bodies(client, "a1") == []
    await status(client, task["id"], status="input_required", message="which branch?")
    await status(client, task["id"], status="working")
    await status(client, task["id"], status="failed")
    assert await inbox_bodies(client, "a1") == [
        f"task {task['id']} is input_required: which branch?",
        f"task {task['id']} is failed: which branch?",
    ]
    second = await create(client, creator)
    await client.post(f"/api/tasks/{second['id']}/cancel", headers=H)  # the operator did it
    assert (await inbox_bodies(client, "a1"))[-1] == f"task {second['id']} is canceled"


async def test_a_preferred_runner_managed_agent_is_woken(client: Any) -> None:
    await managed_agent(client, "a1")
    task = await create(client, routingHints={"preferredAgentId": "a1"})
    [command] = await wakes(client, "a1")
    assert command["params"]["reason"] == "task"
    assert command["params"]["taskId"] == task["id"]


@pytest.mark.parametrize("path", ["heartbeat", "cancel", "requeue", "status", "claim"])
async def test_unknown_task_is_404(client: Any, path: str) -> None:
    await agent(client, "a1")
    body = {"status": "working"} if path == "status" else {"agentId": "a1"}
    response = await client.post(f"/api/tasks/tsk_nope/{path}", json=body, headers=H)
    assert await error_of(response) == (404, "task not found")


async def test_a_store_that_is_down_is_503_and_changes_nothing(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relay.errors import Unavailable
    from relay.store import tasks as task_store

    await agent(client, "a1")
    task = await create(client)

    async def down(*_args: Any) -> Any:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(task_store, "insert", down)
    monkeypatch.setattr(task_store, "update", down)
    for response in (
        await client.post("/api/tasks", json={"title": "lost"}, headers=H),
        await claim(client, task["id"], agentId="a1"),
        await claim(client, None, agentId="a1"),
    ):
        assert await error_of(response) == (503, "store unavailable")
        assert response.headers.get("Retry-After")
    monkeypatch.setattr(task_store, "load", down)
    response = await client.get(f"/api/tasks/{task['id']}", headers=H)
    assert await error_of(response) == (503, "store unavailable")
    monkeypatch.undo()
    # Nothing was made or held meanwhile: the board reloaded what was committed.
    listed = await (await client.get("/api/tasks", headers=H)).get_json()
    assert [(t["id"], t["status"], t["version"]) for t in listed] == [(task["id"], "submitted", 1)]
    assert (await claimed(client, task["id"]))["attempt"] == 1


async def test_artifacts_are_refs_and_a_secret_one_is_readable_by_the_assignee(
    client: Any, mint: Any
) -> None:
    await agent(client, "a1")
    await agent(client, "a2")
    task = await create(client)
    await claimed(client, task["id"], "a2")
    unknown = [{"artifactId": "art_x"}]
    response = await status(client, task["id"], status="working", artifacts=unknown)
    assert await error_of(response) == (404, "artifact not found")
    assert (await get(client, task["id"]))["version"] == 2
    a1 = bearer(mint(["task:read", "task:write"], {"agents": ["a1"]}))
    a2 = bearer(mint(["task:read", "task:write"], {"agents": ["a2"]}))
    secret = await uploaded(client, b"key", sensitivity="secret", headers=a1)
    path = f"/api/artifacts/{secret['artifact']['id']}"
    assert (await client.get(path, headers=a2)).status_code == 403
    # a2 may not attach what it may not read.
    refs = [{"artifactId": secret["artifact"]["id"]}]
    response = await status(client, task["id"], a2, status="working", artifacts=refs)
    assert await error_of(response) == (403, "forbidden")
    # Attached by someone who may (root, acting for the assignee), a2 holds it now.
    response = await status(client, task["id"], status="working", artifacts=refs)
    assert (await response.get_json())["artifacts"] == [secret["ref"]]
    assert (await client.get(path, headers=a2)).status_code == 200
