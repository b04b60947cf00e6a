"""The memory tools through the MCP SDK's own client against a real ``relay serve``:
what one agent writes its repo neighbour finds, redacted, and it survives a restart."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from tests.e2e.processes import RelayProcess
from tests.e2e.test_mcp_e2e import mcp_config, session_for, structured, text_of

SLACK = "xoxb-1234567890abc"


async def test_memory_tools_end_to_end(tmp_path: Path) -> None:
    relay = RelayProcess(tmp_path / "relay").start()
    try:
        for agent_id in ("a1", "a2"):
            response = relay.api.post("/api/agents", json={"id": agent_id})
            assert response.status_code == 201, response.text
        async with AsyncExitStack() as stack:
            a = await session_for(stack, mcp_config(relay, "a1"))
            b = await session_for(stack, mcp_config(relay, "a2"))
            made = structured(
                await a.call_tool(
                    "memory_write",
                    {
                        "scope": "repo",
                        "repoRoot": "/srv/app",
                        "type": "project",
                        "title": "Chat hook",
                        "body": f"webhook token {SLACK}",
                        "tags": ["chat"],
                    },
                )
            )
            assert made["redactions"] == [{"field": "body", "name": "slack-token", "count": 1}]

            relay.stop()
            relay.start()

            found = structured(await b.call_tool("memory_search", {"q": "hook", "tag": ["chat"]}))
            [item] = found["items"]
            assert item["id"] == made["id"]
            assert item["body"] == "webhook token [REDACTED:slack-token]"
            assert structured(await b.call_tool("memory_search", {"q": SLACK}))["items"] == []
            stale = await a.call_tool(
                "memory_write", {"id": made["id"], "version": 2, "title": "x"}
            )
            assert stale.is_error
            assert [text_of(c) for c in stale.content] == ["version conflict: current version is 1"]
        assert "Traceback" not in relay.log()
    finally:
        relay.close()
