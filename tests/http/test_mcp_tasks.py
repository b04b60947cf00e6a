"""The MCP task tools over ``POST /mcp``: ``task_create``, ``task_claim`` and
``task_update`` as the token's agent, answering as their routes do."""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from tests.http.helpers import H
from tests.http.test_mcp import mcp_token, register, rpc
from tests.http.test_mcp_messages import ok, refused


async def test_tool_schemas_use_the_route_field_names(client: Any) -> None:
    await register(client, "a1")
    token = await mcp_token(client, "a1")
    response = await rpc(client, token, "tools/list")
    tools = {t["name"]: t for t in (await response.get_json())["result"]["tools"]}

    def fields(name: str) -> set[str]:
        return set(tools[name]["inputSchema"].get("properties", {}))

    assert fields("task_claim") == {"taskId", "leaseSeconds"}
    assert fields("task_update") == {
        "taskId",
        "status",
        "message",
        "result",
        "artifacts",
        "version",
        "leaseSeconds",
    }
    assert fields("task_create") == {
        "title",
        "body",
        "contextId",
        "referenceTaskIds",
        "dependsOn",
        "routingHints",
        "maxAttempts",
    }


async def test_create_claim_update_end_to_end(client: Any, clock: ManualClock) -> None:
    await register(client, "boss")
    await register(client, "a1")
    boss, a1 = await mcp_token(client, "boss"), await mcp_token(client, "a1")
    task = await ok(client, boss, "task_create", title="build", body="make it")
    assert task["createdBy"] == "boss"
    assert (await ok(client, boss, "task_claim", taskId=task["id"]))["task"]["assignee"] == "boss"
    await ok(client, boss, "task_update", taskId=task["id"], status="submitted")
    got = await ok(client, a1, "task_claim", leaseSeconds=60)
    assert (got["task"]["id"], got["task"]["assignee"]) == (task["id"], "a1")
    assert await ok(client, a1, "task_claim") == {"task": None}
    clock.advance(30)
    beat = await ok(client, a1, "task_update", taskId=task["id"], leaseSeconds=120)
    assert beat["leaseExpiresAt"] == clock.now_ms() + 120_000
    assert beat["version"] == got["task"]["version"]
    working = await ok(client, a1, "task_update", taskId=task["id"], status="working")
    assert working["status"] == "working"
    done = await ok(
        client,
        a1,
        "task_update",
        taskId=task["id"],
        status="completed",
        message="shipped",
        result={"pr": 7},
        version=working["version"],
    )
    assert (done["status"], done["result"]) == ("completed", {"pr": 7})
    same = await client.get(f"/api/tasks/{task['id']}", headers=H)
    assert await same.get_json() == done
    # The creator was told, from relay.
    inbox = await ok(client, boss, "fetch_inbox", peek=True)
    assert [i["message"]["body"] for i in inbox["items"]] == [
        f"task {task['id']} is completed: shipped"
    ]


async def test_tool_errors_carry_the_http_message(client: Any) -> None:
    await register(client, "a1")
    await register(client, "a2")
    a1, a2 = await mcp_token(client, "a1"), await mcp_token(client, "a2")
    assert await refused(client, a1, "task_create") == "title is required"
    assert await refused(client, a1, "task_create", title="t", dependsOn=["tsk_x"]) == (
        "task not found"
    )
    task = await ok(client, a1, "task_create", title="t")
    assert await refused(client, a1, "task_claim", taskId="tsk_x") == "task not found"
    assert await refused(client, a1, "task_claim", leaseSeconds=5) == (
        "leaseSeconds must be at least 30"
    )
    await ok(client, a1, "task_claim", taskId=task["id"])
    assert await refused(client, a2, "task_claim", taskId=task["id"]) == "task is assigned"
    # a2 cannot update a1's task, nor renew its lease.
    assert await refused(client, a2, "task_update", taskId=task["id"], status="working") == (
        "task is not assigned to you"
    )
    assert await refused(client, a2, "task_update", taskId=task["id"]) == (
        "task is not assigned to you"
    )
    assert await refused(client, a1, "task_update", taskId=task["id"], status="nope") == (
        "status must be one of working, input_required, completed, failed, rejected, submitted"
    )
    assert await refused(client, a1, "task_update", status="working") == "taskId is required"
    assert await refused(
        client, a1, "task_update", taskId=task["id"], status="working", version=9
    ) == ("version conflict: current version is 2")
