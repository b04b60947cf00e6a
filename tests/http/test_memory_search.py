"""GET /api/memory: substring terms, exact filters, order, cursor; the same on both backends."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import pytest

from relay.clock import ManualClock
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_memory import MEMORY_SCOPES, created, search
from tests.http.test_messages import agent, error_of


def b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def ids_of(client: Any, query: str, headers: Any = None) -> list[str]:
    return [item["id"] for item in (await search(client, query, headers))["items"]]


async def test_terms_are_case_insensitive_substrings_of_title_body_or_tag(
    client: Any, clock: ManualClock
) -> None:
    made = []
    for title, body, tags in (
        ("Deploy Steps", "use the blue-green switch", ["ops"]),
        ("Coffee", "100% arabica_beans", ["kitchen"]),
        ("Ünïcode Straße", "grüße", ["Intl"]),
        ("Nothing", "here", []),
    ):
        made.append((await created(client, title=title, body=body, tags=tags))["id"])
        clock.advance(1)
    deploy, coffee, uni, nothing = made
    assert await ids_of(client, "?q=deploy") == [deploy]
    assert await ids_of(client, "?q=BLUE-GREEN") == [deploy]
    assert await ids_of(client, "?q=deploy+green") == [deploy]  # every term must occur
    assert await ids_of(client, "?q=deploy+kitchen") == []
    assert await ids_of(client, "?q=kitch") == [coffee]  # a tag substring
    assert await ids_of(client, "?q=0%25") == [coffee]  # % is literal
    assert await ids_of(client, "?q=a_b") == [coffee]  # _ is literal
    assert await ids_of(client, "?q=a%25b") == []
    assert await ids_of(client, "?q=" + quote("straße")) == [uni]
    assert await ids_of(client, "?q=" + quote("ÜNÏ")) == [uni]
    assert await ids_of(client, "?q=intl") == [uni]
    assert await ids_of(client, "?q=e") == [nothing, uni, coffee, deploy]  # updatedAt desc


async def test_filters_are_exact_and_all_tags_must_be_present(client: Any) -> None:
    await agent(client, "a1")
    both = await created(client, tags=["x", "y"], type="user")
    only_x = await created(client, tags=["x"], type="reference")
    agent_one = await created(client, scope="agent", scopeKey="a1", tags=["y"])
    repo = await created(client, scope="repo", scopeKey="/srv/one")
    assert set(await ids_of(client, "?tag=x")) == {both["id"], only_x["id"]}
    assert await ids_of(client, "?tag=x&tag=y") == [both["id"]]
    assert await ids_of(client, "?tag=X") == []  # exact
    assert await ids_of(client, "?type=reference") == [only_x["id"]]
    assert await ids_of(client, "?scope=agent") == [agent_one["id"]]
    assert await ids_of(client, "?scope=repo&scopeKey=/srv/one") == [repo["id"]]
    assert await ids_of(client, "?scopeKey=/srv") == []
    assert len(await ids_of(client, "?createdBy=root")) == 4
    assert await ids_of(client, "?createdBy=roo") == []


async def test_pages_follow_the_cursor_in_order(client: Any, clock: ManualClock) -> None:
    made = []
    for i in range(7):
        made.append((await created(client, title=f"page {i}"))["id"])
        if i % 2:
            clock.advance(1)  # pairs share an updatedAt: the id orders them
    everything = await search(client, "?limit=200")
    expected = [item["id"] for item in everything["items"]]
    keys = [(-item["updatedAt"], item["id"]) for item in everything["items"]]
    assert keys == sorted(keys)
    assert everything["nextCursor"] is None
    seen: list[str] = []
    cursor = ""
    while True:
        page = await search(client, f"?q=page&limit=3{cursor}")
        seen += [item["id"] for item in page["items"]]
        if page["nextCursor"] is None:
            break
        cursor = f"&cursor={page['nextCursor']}"
    assert seen == expected


async def test_secret_memories_match_on_tags_only_for_others(client: Any, mint: Any) -> None:
    for agent_id in ("a1", "a2"):
        await agent(client, agent_id)
    a = bearer(mint(MEMORY_SCOPES, {"agents": ["a1"]}, sub="a1", role="agent"))
    b = bearer(mint(MEMORY_SCOPES, {"agents": ["a2"]}, sub="a2", role="agent"))
    secret = await created(
        client,
        a,
        scope="repo",
        scopeKey="/srv/one",
        sensitivity="secret",
        title="vault location",
        body="under the stairs",
        tags=["vault-hint"],
    )
    assert await ids_of(client, "?q=stairs", a) == [secret["id"]]  # its creator
    assert await ids_of(client, "?q=stairs", H) == [secret["id"]]  # operators
    assert await ids_of(client, "?q=stairs", b) == []  # withheld text is not searched
    assert await ids_of(client, "?q=location", b) == []
    found = (await search(client, "?q=hint", b))["items"]
    assert [item["id"] for item in found] == [secret["id"]]
    assert (found[0]["title"], found[0]["body"], found[0]["withheld"]) == (None, None, True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?q=" + "+".join("t" * 11), "q must have at most 10 terms"),
        ("?q=" + "x" * 1001, "q must be at most 1000 characters"),
        ("?limit=0", "limit must be between 1 and 200"),
        ("?limit=201", "limit must be between 1 and 200"),
        ("?scope=team", "scope must be one of agent, repo, global"),
        ("?type=idea", "type must be one of user, feedback, project, reference"),
        ("?cursor=%%%", "cursor is invalid"),
        ("?cursor=bm9wZQ", "cursor is invalid"),
        # a forged timestamp beyond a 64-bit column, and 19 digits
        ("?cursor=" + b64("9" * 30 + ":m_x"), "cursor is invalid"),
        ("?cursor=" + b64("9" * 19 + ":m_x"), "cursor is invalid"),
        ("?tag=" + "x" * 65, "tag must be at most 64 characters, at most 20 times"),
    ],
)
async def test_bad_queries_are_400(client: Any, query: str, message: str) -> None:
    assert await error_of(await client.get(f"/api/memory{query}", headers=H)) == (400, message)
