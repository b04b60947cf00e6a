"""The task, artifact and pair tools through the MCP SDK's own client against a real
``relay serve``, across a ``kill -9``: a task claimed before the kill loses its lease after
the restart and is claimed again (attempt 2), its result keeps the artifact attached, and a
pair is driven to completion by its two parties."""

from __future__ import annotations

import signal
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from tests.e2e.processes import RelayProcess, wait_for
from tests.e2e.test_mcp_e2e import mcp_config, session_for, structured, text_of

LEASE_SECONDS = 30  # the least a claim may ask for


async def test_task_tools_across_a_kill_9(tmp_path: Path) -> None:
    relay = RelayProcess(tmp_path / "relay", RELAY_JOB_TASK_LEASE_EXPIRY_SECONDS="1").start()
    try:
        for agent_id in ("a1", "a2"):
            response = relay.api.post("/api/agents", json={"id": agent_id})
            assert response.status_code == 201, response.text
        async with AsyncExitStack() as stack:
            a1 = await session_for(stack, mcp_config(relay, "a1"))
            a2 = await session_for(stack, mcp_config(relay, "a2"))

            task = structured(await a1.call_tool("task_create", {"title": "Fix the build"}))
            assert (task["status"], task["createdBy"]) == ("submitted", "a1")
            claimed = structured(
                await a2.call_tool(
                    "task_claim", {"taskId": task["id"], "leaseSeconds": LEASE_SECONDS}
                )
            )["task"]
            assert (claimed["status"], claimed["assignee"], claimed["attempt"]) == (
                "assigned",
                "a2",
                1,
            )
            working = structured(
                await a2.call_tool("task_update", {"taskId": task["id"], "status": "working"})
            )
            assert working["status"] == "working"

            relay.stop(signal.SIGKILL)
            relay.start()

            # Nothing renews the lease now: once it has run out the task is back on the board
            # with its attempt kept, whether the job or the next read applies it.
            def requeued() -> dict[str, Any] | None:
                found: dict[str, Any] = relay.api.get(f"/api/tasks/{task['id']}").json()
                return found if found["status"] == "submitted" else None

            back = wait_for(requeued, timeout=LEASE_SECONDS + 30, what="the lost lease")
            assert (back["assignee"], back["attempt"]) == (None, 1)
            late = await a2.call_tool("task_update", {"taskId": task["id"], "status": "completed"})
            assert late.is_error
            assert [text_of(c) for c in late.content] == ["task is not assigned to you"]

            again = structured(await a2.call_tool("task_claim", {}))["task"]
            assert (again["id"], again["attempt"]) == (task["id"], 2)
            put = structured(
                await a2.call_tool("artifact_put", {"name": "build.log", "text": "all green"})
            )
            done = structured(
                await a2.call_tool(
                    "task_update",
                    {
                        "taskId": task["id"],
                        "status": "completed",
                        "result": {"ok": True},
                        "artifacts": [{"artifactId": put["artifact"]["id"]}],
                    },
                )
            )
            assert (done["status"], done["result"]) == ("completed", {"ok": True})
            assert [a["artifactId"] for a in done["artifacts"]] == [put["artifact"]["id"]]
            final = await a2.call_tool("task_update", {"taskId": task["id"], "status": "failed"})
            assert final.is_error
            assert [text_of(c) for c in final.content] == ["task is completed"]

            made = relay.api.post("/api/pairs", json={"driver": "a1", "navigator": "a2"})
            assert made.status_code == 201, made.text
            pair_id = made.json()["id"]
            review = structured(
                await a1.call_tool("pair_action", {"pairId": pair_id, "action": "request-review"})
            )
            assert review["status"] == "awaiting_review"
            wrong = await a1.call_tool("pair_action", {"pairId": pair_id, "action": "approve"})
            assert wrong.is_error
            assert [text_of(c) for c in wrong.content] == ["only the navigator may approve"]
            approved = structured(
                await a2.call_tool("pair_action", {"pairId": pair_id, "action": "approve"})
            )
            assert approved["status"] == "completed"
        assert "Traceback" not in relay.log()
    finally:
        relay.close()
