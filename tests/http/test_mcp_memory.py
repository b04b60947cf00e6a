"""The MCP memory tools over ``POST /mcp``: ``memory_write`` and ``memory_search`` run the
routes' create, update and search as the token's agent; refusals carry the HTTP message."""

from __future__ import annotations

from typing import Any

from tests.http.helpers import H
from tests.http.test_mcp import mcp_token, register, rpc
from tests.http.test_mcp_messages import ok, refused

GITHUB = "ghp_" + "b" * 36


async def test_write_then_search_then_update_with_version(client: Any) -> None:
    await register(client, "a1")
    token = await mcp_token(client, "a1")
    made = await ok(
        client,
        token,
        "memory_write",
        type="project",
        title="Deploys",
        body=f"use make deploy, token {GITHUB}",
        tags=["ops"],
        **{"from": "a2", "scopeKey": "a2"},  # not arguments: ignored
    )
    assert (made["scope"], made["scopeKey"], made["createdBy"], made["version"]) == (
        "agent",
        "a1",
        "a1",
        1,
    )
    assert made["redactions"] == [{"field": "body", "name": "github-token", "count": 1}]
    assert GITHUB not in made["body"]
    repo = await ok(
        client,
        token,
        "memory_write",
        scope="repo",
        repoRoot="/srv/one/",
        type="reference",
        title="Layout",
        body="src/ holds it",
    )
    assert repo["scopeKey"] == "/srv/one"
    found = await ok(client, token, "memory_search", q="DEPLOY")
    assert [item["id"] for item in found["items"]] == [made["id"]]
    assert found["nextCursor"] is None
    by_scope = await ok(client, token, "memory_search", scope="repo", tag=[])
    assert [item["id"] for item in by_scope["items"]] == [repo["id"]]
    updated = await ok(
        client, token, "memory_write", id=made["id"], version=1, title="Deploys (v2)"
    )
    assert (updated["title"], updated["version"], updated["body"]) == (
        "Deploys (v2)",
        2,
        made["body"],
    )
    stale = await refused(client, token, "memory_write", id=made["id"], version=1, title="x")
    assert stale == "version conflict: current version is 2"
    # The route agrees with the tool.
    got = await client.get(f"/api/memory/{made['id']}", headers=H)
    assert (await got.get_json())["title"] == "Deploys (v2)"


async def test_refusals_carry_the_http_messages(client: Any) -> None:
    await register(client, "a1")
    await register(client, "a2")
    token = await mcp_token(client, "a1")
    other = await mcp_token(client, "a2")
    base = {"type": "project", "title": "t", "body": "b"}
    assert await refused(client, token, "memory_write", scope="global", **base) == "forbidden"
    assert await refused(client, token, "memory_write", scope="repo", **base) == (
        "scopeKey is required"
    )
    assert await refused(client, token, "memory_write", scope="repo", repoRoot="x", **base) == (
        "scopeKey must be an absolute path"
    )
    assert await refused(client, token, "memory_write", title="t", body="b") == ("type is required")
    assert await refused(client, token, "memory_write", id="mem_x", title="t") == (
        "version is required"
    )
    assert await refused(client, token, "memory_write", id="mem_x", version=1, title="t") == (
        "memory not found"
    )
    assert await refused(client, token, "memory_search", q=" ".join("t" * 11)) == (
        "q must have at most 10 terms"
    )
    assert await refused(client, token, "memory_search", limit=0) == "limit must be at least 1"
    private = await ok(client, token, "memory_write", visibility="private", **base)
    # a2 neither sees a1's agent memory nor may write it.
    assert await refused(
        client, other, "memory_write", id=private["id"], version=1, title="mine"
    ) == ("memory not found")
    assert (await ok(client, other, "memory_search"))["items"] == []


async def test_a_token_without_memory_scope_is_refused(client: Any, mint: Any) -> None:
    await register(client, "a1")
    token = mint(["agent:read"], {"agents": ["a1"]}, sub="mcp:a1", role="mcp")
    response = await rpc(client, token, "tools/call", {"name": "memory_search", "arguments": {}})
    result = (await response.get_json())["result"]
    assert result["isError"] is True
    assert result["content"][0]["text"] == "forbidden"
