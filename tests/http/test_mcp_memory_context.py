"""``memory_context`` over ``POST /mcp``: the broker for the token's own agent, the route's
answer and refusals, and the serving recorded as the route records it."""

from __future__ import annotations

from typing import Any

from tests.http.helpers import H
from tests.http.test_mcp import mcp_token, register, rpc
from tests.http.test_mcp_messages import ok, refused
from tests.http.test_memory import created


async def setup(client: Any) -> tuple[str, dict[str, str]]:
    await register(client, "a1", tags=["memory-reload:style"])
    await register(client, "a2")
    made = {
        "mine": await created(client, scope="agent", scopeKey="a1", title="mine", body="deploy"),
        "theirs": await created(client, scope="agent", scopeKey="a2", title="theirs", body="x"),
        "style": await created(client, scope="global", title="style", body="s", tags=["style"]),
        "repo": await created(client, scope="repo", scopeKey="/srv/r", title="repo", body="r"),
    }
    return await mcp_token(client, "a1"), {name: m["id"] for name, m in made.items()}


def ids(reply: dict[str, Any]) -> list[str]:
    return [item["id"] for item in reply["items"]]


async def test_listed_with_the_routes_field_names(client: Any) -> None:
    token, _ = await setup(client)
    response = await rpc(client, token, "tools/list")
    tools = {t["name"]: t for t in (await response.get_json())["result"]["tools"]}
    schema = tools["memory_context"]["inputSchema"]
    assert set(schema["properties"]) == {"query", "repoRoot", "maxChars", "maxItems"}


async def test_serves_the_callers_agent_as_the_route_does(client: Any) -> None:
    token, made = await setup(client)
    reply = await ok(client, token, "memory_context")
    assert reply["agentId"] == "a1"
    assert ids(reply) == [made["style"], made["mine"]]
    assert reply["items"][0]["pinned"] is True
    route = await client.post("/api/memory/broker", json={"agentId": "a1"}, headers=H)
    assert await route.get_json() == reply

    reply = await ok(client, token, "memory_context", query="deploy", repoRoot="/srv/r")
    assert ids(reply) == [made["style"], made["mine"]]
    reply = await ok(client, token, "memory_context", repoRoot="/srv/r", maxItems=3)
    assert ids(reply) == [made["style"], made["mine"], made["repo"]]
    reply = await ok(client, token, "memory_context", maxItems=1, maxChars=200)
    assert ids(reply) == [made["style"]]
    assert reply["omittedCount"] == 1

    memory = await (await client.get(f"/api/memory/{made['style']}", headers=H)).get_json()
    assert memory["serveCount"] == 5
    events = await (await client.get("/api/activity?agentId=a1", headers=H)).get_json()
    assert sum(1 for e in events if e["title"] == "Memory served") == 5


async def test_refusals_carry_the_routes_messages(client: Any) -> None:
    token, _ = await setup(client)
    assert (
        await refused(client, token, "memory_context", maxChars=199)
        == "maxChars must be at least 200"
    )
    assert (
        await refused(client, token, "memory_context", maxItems=101)
        == "maxItems must be at most 100"
    )
    assert (
        await refused(client, token, "memory_context", repoRoot="srv")
        == "repoRoot must be an absolute path"
    )
    assert (
        await refused(client, token, "memory_context", query="q" * 1001)
        == "query must be at most 1000 characters"
    )
