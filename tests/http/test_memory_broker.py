"""POST /api/memory/broker end to end: the candidate set, pinned items, the query, the
budget, output redaction, serving recorded (serveCount, lastServedAt, one activity), and
every refusal."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from relay.domain.memory import Memory
from relay.domain.workspaces import Workspace
from relay.errors import Unavailable
from relay.http.services import Services
from relay.store import memory as memory_store
from relay.store import memory_broker as broker_store
from relay.store import workspaces as workspace_store
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_memory import created, patch
from tests.http.test_messages import agent, error_of

URL = "/api/memory/broker"


async def brokered(client: Any, headers: Any = None, **body: Any) -> dict[str, Any]:
    response = await client.post(URL, json={"agentId": "a1", **body}, headers=headers or H)
    assert response.status_code == 200, await response.get_data()
    reply: dict[str, Any] = await response.get_json()
    return reply


def ids(reply: dict[str, Any]) -> list[str]:
    return [item["id"] for item in reply["items"]]


async def workspace(services: Services, ws_id: str, repo_root: str, status: str) -> None:
    ws = Workspace(
        id=ws_id,
        agent_id="a1",
        orchestrator_id=None,
        repo_root=repo_root,
        source_cwd=repo_root,
        worktree_path=f"{repo_root}/.wt/{ws_id}",
        branch=None,
        base_ref=None,
        base_sha=None,
        mode="isolated",
        status=status,  # type: ignore[arg-type]
        metadata={},
        created_at=1,
        updated_at=1,
    )
    await services.runtime.store.write(lambda: workspace_store.insert(ws))


@pytest.fixture
async def world(client: Any, services: Services) -> dict[str, str]:
    """a1 works in /srv/one (active) and had /srv/old (merged); a2 exists too."""
    await agent(client, "a1", tags=["memory-reload:style", "team"], meta={"cwd": "/srv/one"})
    await agent(client, "a2")
    await workspace(services, "ws-1", "/srv/one", "active")
    await workspace(services, "ws-2", "/srv/old", "merged")
    await workspace(services, "ws-3", "/srv/gone", "cleanup_requested")

    async def make(name: str, **body: Any) -> str:
        memory = await created(client, title=name, body=f"{name} body", **body)
        return str(memory["id"])

    return {
        "mine": await make("mine", scope="agent", scopeKey="a1"),
        "theirs": await make("theirs", scope="agent", scopeKey="a2"),
        "repo": await make("repo", scope="repo", scopeKey="/srv/one"),
        "old": await make("old", scope="repo", scopeKey="/srv/old"),
        "gone": await make("gone", scope="repo", scopeKey="/srv/gone"),
        "other": await make("other", scope="repo", scopeKey="/srv/two"),
        "global": await make("global", scope="global"),
        "secret": await make("secret", scope="global", sensitivity="secret"),
        "style": await make("style", scope="global", tags=["style"]),
    }


async def test_candidates_are_the_agents_scopes_and_live_repos(
    client: Any, world: dict[str, str]
) -> None:
    reply = await brokered(client)
    served = {name for name, memory_id in world.items() if memory_id in ids(reply)}
    assert served == {"mine", "repo", "global", "style"}
    assert reply["agentId"] == "a1"
    assert reply["charsUsed"] == sum(item["chars"] for item in reply["items"])
    assert (reply["omitted"], reply["omittedCount"]) == ([], 0)


async def test_pinned_first_then_by_scope(client: Any, world: dict[str, str]) -> None:
    reply = await brokered(client)
    assert ids(reply) == [world["style"], world["mine"], world["repo"], world["global"]]
    first = reply["items"][0]
    assert first == {
        "id": world["style"],
        "scope": "global",
        "scopeKey": "",
        "type": "project",
        "title": "style",
        "body": "style body",
        "tags": ["style"],
        "confidence": "medium",
        "pinned": True,
        "chars": len("style") + len("style body"),
    }
    assert [item["pinned"] for item in reply["items"]] == [True, False, False, False]


async def test_a_query_keeps_the_pinned_and_the_matching(
    client: Any, world: dict[str, str]
) -> None:
    reply = await brokered(client, query="GLOBAL nothing")
    assert ids(reply) == [world["style"], world["global"]]


async def test_repo_root_given_replaces_the_workspaces(client: Any, world: dict[str, str]) -> None:
    reply = await brokered(client, repoRoot="/srv/two/")
    assert world["other"] in ids(reply)
    assert world["repo"] not in ids(reply)


async def test_private_blocked_and_secret_are_never_brokered(
    client: Any, mint: Any, world: dict[str, str]
) -> None:
    hidden = await created(client, scope="global", visibility="private", title="p", body="p")
    a1 = bearer(mint(["memory:read", "memory:write"], {"agents": ["a1"]}, sub="a1", role="agent"))
    own = await created(client, a1, scope="agent", scopeKey="a1", visibility="private")
    blocked = await created(client, scope="global", title="q", body="q")
    response = await patch(client, blocked["id"], 1, redactionState="blocked")
    assert response.status_code == 200
    served = ids(await brokered(client))
    assert hidden["id"] not in served  # private, created by the root, not by a1
    assert own["id"] in served
    assert blocked["id"] not in served
    assert world["secret"] not in served


async def test_budget_packs_and_lists_what_it_left_out(client: Any, world: dict[str, str]) -> None:
    reply = await brokered(client, budget={"maxItems": 2})
    assert ids(reply) == [world["style"], world["mine"]]
    assert reply["omitted"] == [
        {"id": world["repo"], "chars": len("repo") + len("repo body"), "reason": "maxItems"},
        {"id": world["global"], "chars": len("global") * 2 + len(" body"), "reason": "maxItems"},
    ]
    assert reply["omittedCount"] == 2
    big = await created(client, scope="agent", scopeKey="a1", title="big", body="x" * 300)
    reply = await brokered(client, budget={"maxChars": 200})
    assert big["id"] not in ids(reply)
    assert {"id": big["id"], "chars": 303, "reason": "maxChars"} in reply["omitted"]
    assert reply["charsUsed"] <= 200


async def test_serving_is_counted_and_audited_once_without_a_version_change(
    client: Any, world: dict[str, str]
) -> None:
    reply = await brokered(client, budget={"maxItems": 1})
    [served] = ids(reply)
    memory = await (await client.get(f"/api/memory/{served}", headers=H)).get_json()
    assert (memory["serveCount"], memory["version"]) == (1, 1)
    assert isinstance(memory["lastServedAt"], int)
    other = await (await client.get(f"/api/memory/{world['mine']}", headers=H)).get_json()
    assert other["serveCount"] == 0
    events = await (await client.get("/api/activity?agentId=a1", headers=H)).get_json()
    [event] = [e for e in events if e["title"] == "Memory served"]
    assert (event["view"], event["agentId"]) == ("memory", "a1")
    assert event["metadata"] == {"ids": [served], "charsUsed": reply["charsUsed"]}
    # an update by the memory's actor does not write the count back
    assert (await patch(client, served, 1, title="renamed")).status_code == 200
    memory = await (await client.get(f"/api/memory/{served}", headers=H)).get_json()
    assert (memory["serveCount"], memory["version"]) == (1, 2)


async def test_nothing_served_writes_nothing(client: Any, world: dict[str, str]) -> None:
    reply = await brokered(client, query="zzz-none", repoRoot="/srv/empty")
    assert ids(reply) == [world["style"]]  # pinned, query or not
    await agent(client, "a3")
    reply = await brokered(client, agentId="a3", query="zzz-none")
    assert reply["items"] == []
    events = await (await client.get("/api/activity?agentId=a3", headers=H)).get_json()
    assert [e for e in events if e["title"] == "Memory served"] == []


async def test_text_is_redacted_on_output(
    client: Any, services: Services, world: dict[str, str]
) -> None:
    # Stored before a pattern applied (written straight to the store): redacted on the way out.
    stored = await services.runtime.store.run(lambda: memory_store.load_memory(world["mine"]))
    assert stored is not None
    key = "sk-ant-" + "a" * 30
    raw: Memory = replace(stored, body=f"use {key} here")
    await services.runtime.store.write(lambda: memory_store.update_memory(raw))
    reply = await brokered(client)
    [item] = [i for i in reply["items"] if i["id"] == world["mine"]]
    assert item["body"] == "use [REDACTED:anthropic-key] here"
    assert item["chars"] == len("mine") + len(item["body"])
    assert key not in str(reply)


async def test_same_request_same_answer(client: Any, world: dict[str, str]) -> None:
    first = await brokered(client, query="body")
    again = await brokered(client, query="body")
    assert first == again


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "agentId is required"),
        ({"agentId": ""}, "agentId must not be empty"),
        ({"agentId": "a1", "query": "q" * 1001}, "query must be at most 1000 characters"),
        ({"agentId": "a1", "repoRoot": "srv/one"}, "repoRoot must be an absolute path"),
        ({"agentId": "a1", "budget": {"maxChars": 199}}, "budget.maxChars must be at least 200"),
        (
            {"agentId": "a1", "budget": {"maxChars": 200_001}},
            "budget.maxChars must be at most 200000",
        ),
        ({"agentId": "a1", "budget": {"maxItems": 0}}, "budget.maxItems must be at least 1"),
        ({"agentId": "a1", "budget": {"maxItems": 101}}, "budget.maxItems must be at most 100"),
        ({"agentId": "a1", "budget": 5}, "budget is invalid"),
    ],
)
async def test_bad_input_is_400(
    client: Any, world: dict[str, str], body: dict[str, Any], message: str
) -> None:
    response = await client.post(URL, json=body, headers=H)
    assert await error_of(response) == (400, message)


async def test_malformed_bodies(client: Any) -> None:
    response = await client.post(URL, data="{", headers={**H, "Content-Type": "application/json"})
    assert await error_of(response) == (400, "invalid JSON body")
    response = await client.post(URL, json=[1], headers=H)
    assert response.status_code == 400


async def test_who_may_ask(client: Any, mint: Any, world: dict[str, str]) -> None:
    assert (await client.post(URL, json={"agentId": "a1"})).status_code == 401
    no_scope = bearer(mint(["message:read"], {"agents": ["a1"]}, sub="a1", role="agent"))
    assert await error_of(await client.post(URL, json={"agentId": "a1"}, headers=no_scope)) == (
        403,
        "forbidden",
    )
    a2 = bearer(mint(["memory:read"], {"agents": ["a2"]}, sub="a2", role="agent"))
    assert await error_of(await client.post(URL, json={"agentId": "a1"}, headers=a2)) == (
        403,
        "forbidden",
    )
    # an unknown agent: 404 to whoever could act for it, 403 (nothing learned) to others
    response = await client.post(URL, json={"agentId": "nobody"}, headers=H)
    assert await error_of(response) == (404, "agent not found")
    response = await client.post(URL, json={"agentId": "nobody"}, headers=a2)
    assert await error_of(response) == (403, "forbidden")
    a1 = bearer(mint(["memory:read"], {"agents": ["a1"]}, sub="a1", role="agent"))
    assert ids(await brokered(client, a1))


async def test_a_cwd_constraint_keeps_other_repos_out(
    client: Any, mint: Any, services: Services, world: dict[str, str]
) -> None:
    await workspace(services, "ws-4", "/srv/two", "active")
    assert world["other"] in ids(await brokered(client))
    a1 = bearer(
        mint(["memory:read"], {"agents": ["a1"], "cwd": ["/srv/one"]}, sub="a1", role="agent")
    )
    served = ids(await brokered(client, a1))
    assert world["repo"] in served
    assert world["other"] not in served
    served = ids(await brokered(client, a1, repoRoot="/srv/two"))
    assert world["other"] not in served


async def test_store_down_is_503(
    client: Any, world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def down(*_args: Any, **_kwargs: Any) -> Any:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(broker_store, "candidates", down)
    response = await client.post(URL, json={"agentId": "a1"}, headers=H)
    assert response.status_code == 503
    assert response.headers["Retry-After"]

    monkeypatch.undo()
    monkeypatch.setattr(memory_store, "mark_served", down)
    response = await client.post(URL, json={"agentId": "a1"}, headers=H)
    assert response.status_code == 503
    events = await (await client.get("/api/activity?agentId=a1", headers=H)).get_json()
    assert [e for e in events if e["title"] == "Memory served"] == []


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE", "PUT"])
async def test_other_methods_are_405(client: Any, method: str) -> None:
    response = await client.open(URL, method=method, headers=H)
    assert await error_of(response) == (405, "method not allowed")
    assert "POST" in response.headers["Allow"]
