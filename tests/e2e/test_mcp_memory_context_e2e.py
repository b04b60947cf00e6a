"""``memory_context`` through the MCP SDK's own client against a real ``relay serve``:
after a compact the agent asks for its context and gets its pinned memories first, and
the serving is on record."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

from tests.e2e.processes import RelayProcess
from tests.e2e.test_mcp_e2e import mcp_config, session_for, structured


async def test_memory_context_end_to_end(tmp_path: Path) -> None:
    relay = RelayProcess(tmp_path / "relay").start()
    try:
        card = {"id": "a1", "tags": ["memory-reload:chat"]}
        assert relay.api.post("/api/agents", json=card).status_code == 201
        made = {}
        for title, tags in (("plain", []), ("pinned", ["chat"])):
            body = {"scope": "global", "type": "project", "title": title, "body": "b", "tags": tags}
            response = relay.api.post("/api/memory", json=body)
            assert response.status_code == 201, response.text
            made[title] = response.json()["id"]
        async with AsyncExitStack() as stack:
            a = await session_for(stack, mcp_config(relay, "a1"))
            context = structured(await a.call_tool("memory_context", {"maxItems": 5}))
        assert [item["id"] for item in context["items"]] == [made["pinned"], made["plain"]]
        assert [item["pinned"] for item in context["items"]] == [True, False]
        served = relay.api.get(f"/api/memory/{made['pinned']}").json()
        assert served["serveCount"] == 1
        assert "Traceback" not in relay.log()
    finally:
        relay.close()
