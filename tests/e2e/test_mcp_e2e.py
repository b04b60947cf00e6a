"""An MCP client (the SDK's own, over streamable HTTP on a real socket) against a real
``relay serve``, configured by ``relay mcp-config``; it keeps working across a relay
restart without initializing again, since ``/mcp`` is stateless. Two agents message each
other through the tools, each with its own MCP token."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.types import ContentBlock, TextContent

from tests.e2e.processes import ROOT_TOKEN, RelayProcess, clean_env

MCP_CONFIG = [sys.executable, "-m", "relay", "mcp-config"]


def mcp_config(relay: RelayProcess, agent_id: str) -> dict[str, Any]:
    done = subprocess.run(
        [*MCP_CONFIG, "--agent", agent_id, "--relay-url", relay.url],
        env=clean_env(RELAY_ROOT_TOKEN=ROOT_TOKEN),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    server: dict[str, Any] = json.loads(done.stdout)["mcpServers"]["relay"]
    return server


def text_of(content: ContentBlock) -> str:
    """A tool result's text (every reply and refusal of relay's tools is text)."""
    assert isinstance(content, TextContent), content
    return content.text


def agent_ids(result: Any) -> list[str]:
    assert not result.is_error, result.content
    return [agent["id"] for agent in result.structured_content["agents"]]


async def test_an_mcp_client_across_a_relay_restart(tmp_path: Path) -> None:
    relay = RelayProcess(tmp_path / "relay").start()
    try:
        for agent_id in ("a1", "a2"):
            response = relay.api.post("/api/agents", json={"id": agent_id})
            assert response.status_code == 201, response.text
        server = mcp_config(relay, "a1")
        assert server["type"] == "http"
        assert server["url"] == f"{relay.url}/mcp"

        async with (
            httpx2.AsyncClient(headers=server["headers"]) as http,
            streamable_http_client(server["url"], http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            initialized = await session.initialize()
            assert initialized.server_info.name == "relay"
            tools = await session.list_tools()
            assert "list_agents" in {tool.name for tool in tools.tools}

            listed = await session.call_tool("list_agents", {})
            assert agent_ids(listed) == ["a1", "a2"]
            assert json.loads(text_of(listed.content[0])) == listed.structured_content

            refused = await session.call_tool("list_agents", {"status": "gone"})
            assert refused.is_error
            assert text_of(refused.content[0]) == "status must be one of online, stale, offline"

            relay.stop()
            relay.start()  # the same data dir: the token and the agents are still there

            again = await session.call_tool("list_agents", {"tag": "none"})
            assert agent_ids(again) == []
            assert agent_ids(await session.call_tool("list_agents", {})) == ["a1", "a2"]
        assert "Traceback" not in relay.log()
    finally:
        relay.close()


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == result.structured_content
    content: dict[str, Any] = result.structured_content
    return content


async def session_for(stack: AsyncExitStack, server: dict[str, Any]) -> ClientSession:
    http = await stack.enter_async_context(httpx2.AsyncClient(headers=server["headers"]))
    read, write = await stack.enter_async_context(
        streamable_http_client(server["url"], http_client=http)
    )
    session = await stack.enter_async_context(ClientSession(read, write))
    await session.initialize()
    return session


async def test_two_agents_message_each_other_across_restarts(tmp_path: Path) -> None:
    relay = RelayProcess(tmp_path / "relay").start()
    try:
        for agent_id in ("a1", "a2"):
            response = relay.api.post("/api/agents", json={"id": agent_id})
            assert response.status_code == 201, response.text
        async with AsyncExitStack() as stack:
            a = await session_for(stack, mcp_config(relay, "a1"))
            b = await session_for(stack, mcp_config(relay, "a2"))
            tools = {tool.name for tool in (await a.list_tools()).tools}
            assert tools == {
                "send_message",
                "reply",
                "fetch_inbox",
                "ack_messages",
                "list_channels",
                "list_agents",
                "pair_action",
                "artifact_put",
                "task_claim",
                "task_update",
                "task_create",
                "memory_write",
                "memory_search",
                "memory_context",
            }

            sent = structured(
                await a.call_tool("send_message", {"to": "a2", "body": "hi", "ackRequired": True})
            )
            assert sent["message"]["from"] == "a1"
            message_id = sent["message"]["id"]

            relay.stop()
            relay.start()  # neither session initializes again

            assert structured(await a.call_tool("fetch_inbox", {}))["items"] == []
            fetched = structured(await b.call_tool("fetch_inbox", {"lease": 60}))
            [item] = fetched["items"]
            assert item["message"]["id"] == message_id
            assert item["attempt"] == 1

            relay.stop()
            relay.start()  # the lease outlives the restart

            wrong = await b.call_tool("ack_messages", {"leaseId": "ls_" + "0" * 32})
            assert wrong.is_error
            assert [text_of(c) for c in wrong.content] == ["delivery is not leased by you"]
            # a1 holds no such delivery: it cannot ack a2's.
            theirs = await a.call_tool(
                "ack_messages",
                {"leaseId": fetched["leaseId"], "deliveryIds": [item["deliveryId"]]},
            )
            assert theirs.is_error
            assert [text_of(c) for c in theirs.content] == ["delivery not found"]
            acked = structured(await b.call_tool("ack_messages", {"leaseId": fetched["leaseId"]}))
            assert acked == {"acked": [item["deliveryId"]]}

            answered = structured(
                await b.call_tool("reply", {"messageId": message_id, "body": "ok"})
            )
            assert (answered["message"]["from"], answered["message"]["to"]) == ("a2", "a1")
            [back] = structured(await a.call_tool("fetch_inbox", {}))["items"]
            assert back["message"]["body"] == "ok"

        deliveries = relay.api.get(f"/api/messages/{message_id}/deliveries").json()
        assert [d["state"] for d in deliveries] == ["acked"]
        assert "Traceback" not in relay.log()
    finally:
        relay.close()
