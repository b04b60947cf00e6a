"""/api/memory: create, read, update with If-Match, delete, search; who sees what."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.errors import Unavailable
from relay.store import memory as memory_store
from tests.conftest import ROOT, bearer
from tests.http.helpers import H
from tests.http.test_messages import agent, error_of

MEMORY_SCOPES = ["memory:read", "memory:write"]


@pytest.fixture
async def people(client: Any, mint: Any) -> dict[str, dict[str, str]]:
    """A (a1) and B (a2) work in /srv/one, C (a3) in /srv/two; op is the root."""
    for agent_id, cwd in (("a1", "/srv/one"), ("a2", "/srv/one"), ("a3", "/srv/two")):
        await agent(client, agent_id, meta={"cwd": cwd})

    def token(agent_id: str, cwd: str) -> dict[str, str]:
        return bearer(
            mint(MEMORY_SCOPES, {"agents": [agent_id], "cwd": [cwd]}, sub=agent_id, role="agent")
        )

    return {
        "A": token("a1", "/srv/one"),
        "B": token("a2", "/srv/one"),
        "C": token("a3", "/srv/two"),
        "op": H,
    }


async def create(client: Any, headers: Any = None, **body: Any) -> Any:
    fields = {"scope": "global", "type": "project", "title": "t", "body": "b", **body}
    return await client.post("/api/memory", json=fields, headers=headers or H)


async def created(client: Any, headers: Any = None, **body: Any) -> dict[str, Any]:
    response = await create(client, headers, **body)
    assert response.status_code == 201, await response.get_data()
    reply: dict[str, Any] = await response.get_json()
    return reply


async def patch(client: Any, memory_id: str, version: Any, headers: Any = None, **body: Any) -> Any:
    extra = {} if version is None else {"If-Match": f'"{version}"' if version != "*" else "*"}
    return await client.patch(
        f"/api/memory/{memory_id}", json=body, headers={**(headers or H), **extra}
    )


async def search(client: Any, query: str = "", headers: Any = None) -> dict[str, Any]:
    response = await client.get(f"/api/memory{query}", headers=headers or H)
    assert response.status_code == 200, await response.get_data()
    reply: dict[str, Any] = await response.get_json()
    return reply


async def test_create_get_patch_delete(client: Any, people: Any) -> None:
    reply = await created(
        client,
        people["A"],
        scope="agent",
        title="Build",
        body="run make",
        tags=["ci", "build"],
        source={"kind": "task", "ref": "T-1"},
    )
    assert reply["id"].startswith("mem_")
    assert len(reply["id"]) == 36
    assert reply["scopeKey"] == "a1"  # the caller's one agent
    assert reply["createdBy"] == "a1"
    assert (reply["version"], reply["redactionState"], reply["redactions"]) == (1, "clean", [])
    assert (reply["visibility"], reply["sensitivity"], reply["confidence"]) == (
        "shared",
        "normal",
        "medium",
    )
    assert reply["withheld"] is False
    assert reply["serveCount"] == 0
    got = await client.get(f"/api/memory/{reply['id']}", headers=people["A"])
    assert got.headers["ETag"] == '"1"'
    body = await got.get_json()
    assert body["title"] == "Build"
    assert body["source"] == {"kind": "task", "ref": "T-1"}
    changed = await patch(client, reply["id"], 1, people["A"], title="Build it", source=None)
    assert changed.status_code == 200, await changed.get_data()
    assert changed.headers["ETag"] == '"2"'
    after = await changed.get_json()
    assert (after["title"], after["body"], after["version"], after["source"]) == (
        "Build it",
        "run make",
        2,
        None,
    )
    star = await patch(client, reply["id"], "*", people["A"], confidence="high")
    assert (await star.get_json())["version"] == 3
    stale = await client.delete(
        f"/api/memory/{reply['id']}", headers={**people["A"], "If-Match": '"2"'}
    )
    assert await error_of(stale) == (409, "version conflict: current version is 3")
    gone = await client.delete(f"/api/memory/{reply['id']}", headers=people["A"])
    assert (gone.status_code, await gone.get_json()) == (200, {"ok": True, "id": reply["id"]})
    missing = await client.get(f"/api/memory/{reply['id']}", headers=people["A"])
    assert await error_of(missing) == (404, "memory not found")


async def test_repo_scope_key_is_normalised_and_global_is_empty(client: Any, people: Any) -> None:
    repo = await created(client, people["A"], scope="repo", scopeKey="/srv/one/x/../y/")
    assert repo["scopeKey"] == "/srv/one/y"
    assert (await created(client, scope="global"))["scopeKey"] == ""


# -- who sees what --------------------------------------------------------------------------

# memory → expected GET for A, B, C, op: "T" text, "W" withheld, "-" not found
TABLE = {
    "agent-a1": "T--T",
    "agent-a1-private": "T--T",
    "repo-one": "TT-T",
    "repo-one-private": "T--T",
    "repo-one-secret": "TW-T",
    "repo-one-blocked": "---T",
    "global": "TTTT",
    "repo-two": "--TT",
}


async def make_table(client: Any, people: Any) -> dict[str, str]:
    A, C = people["A"], people["C"]
    ids = {
        "agent-a1": (await created(client, A, scope="agent"))["id"],
        "agent-a1-private": (await created(client, A, scope="agent", visibility="private"))["id"],
        "repo-one": (await created(client, A, scope="repo", scopeKey="/srv/one"))["id"],
        "repo-one-private": (
            await created(client, A, scope="repo", scopeKey="/srv/one", visibility="private")
        )["id"],
        "repo-one-secret": (
            await created(client, A, scope="repo", scopeKey="/srv/one", sensitivity="secret")
        )["id"],
        "repo-one-blocked": (await created(client, A, scope="repo", scopeKey="/srv/one"))["id"],
        "global": (await created(client, scope="global"))["id"],
        "repo-two": (await created(client, C, scope="repo", scopeKey="/srv/two"))["id"],
    }
    blocked = await patch(client, ids["repo-one-blocked"], 1, redactionState="blocked")
    assert (await blocked.get_json())["redactionState"] == "blocked"
    return ids


async def test_visibility_table_over_http(client: Any, people: Any) -> None:
    ids = await make_table(client, people)
    for name, row in TABLE.items():
        for who, expected in zip(("A", "B", "C", "op"), row, strict=True):
            response = await client.get(f"/api/memory/{ids[name]}", headers=people[who])
            if expected == "-":
                assert await error_of(response) == (404, "memory not found"), (name, who)
                continue
            body = await response.get_json()
            assert response.status_code == 200, (name, who)
            withheld = expected == "W"
            assert body["withheld"] is withheld, (name, who)
            assert (body["title"] is None, body["body"] is None) == (withheld, withheld)
    # Search lists exactly what GET shows.
    for index, who in enumerate(("A", "B", "C", "op")):
        listed = {item["id"] for item in (await search(client, "", people[who]))["items"]}
        assert listed == {ids[n] for n, row in TABLE.items() if row[index] != "-"}, who


async def test_who_writes(client: Any, people: Any) -> None:
    A, B = people["A"], people["B"]
    assert await error_of(await create(client, A, scope="agent", scopeKey="a2")) == (
        403,
        "forbidden",
    )
    assert (await create(client, A, scope="repo", scopeKey="/srv/two")).status_code == 403
    assert (await create(client, A, scope="repo", scopeKey="/srv/onex")).status_code == 403
    assert (await create(client, A, scope="global")).status_code == 403
    mine = await created(client, A, scope="repo", scopeKey="/srv/one")
    # B sees A's repo memory but neither created it nor is its scope's agent.
    assert (await patch(client, mine["id"], 1, B, title="x")).status_code == 403
    assert (await client.delete(f"/api/memory/{mine['id']}", headers=B)).status_code == 403
    # Only operators quarantine.
    assert (await patch(client, mine["id"], 1, A, redactionState="blocked")).status_code == 403
    # An operator writes an agent-scope memory for a1; a1 (the scope's agent) may change it.
    theirs = await created(client, scope="agent", scopeKey="a1")
    assert theirs["createdBy"] == "root"
    assert (await patch(client, theirs["id"], 1, A, title="mine now")).status_code == 200
    assert (await patch(client, theirs["id"], 2, B, title="no")).status_code == 404


async def test_a_caller_acting_for_no_agent_is_refused_everywhere(
    client: Any, mint: Any, people: Any
) -> None:
    memory = await created(client)
    nobody = bearer(mint(MEMORY_SCOPES, sub="ci", role="provider"))
    unknown = bearer(mint(MEMORY_SCOPES, {"agents": ["ghost"]}, sub="ghost", role="agent"))
    for headers in (nobody, unknown):
        for response in (
            await create(client, headers, scope="agent", scopeKey="a1"),
            await client.get(f"/api/memory/{memory['id']}", headers=headers),
            await client.get("/api/memory", headers=headers),
            await patch(client, memory["id"], 1, headers, title="x"),
            await client.delete(f"/api/memory/{memory['id']}", headers=headers),
        ):
            assert await error_of(response) == (403, "forbidden")


async def test_orchestrator_token_acts_for_its_agents(client: Any, mint: Any) -> None:
    from tests.http.helpers import register_orchestrator

    await register_orchestrator(client, "o1")
    await agent(client, "w1", orchestratorId="o1")
    await agent(client, "w2")
    orch = bearer(mint(MEMORY_SCOPES, {"orchestrators": ["o1"]}, sub="o1", role="orchestrator"))
    assert (await create(client, orch, scope="agent", scopeKey="w1")).status_code == 201
    assert (await create(client, orch, scope="agent", scopeKey="w2")).status_code == 403
    assert await error_of(await create(client, orch, scope="agent")) == (
        400,
        "scopeKey is required",
    )


async def test_scopes_are_required(client: Any, mint: Any, people: Any) -> None:
    reader = bearer(mint(["memory:read"], {"agents": ["a1"]}, sub="a1", role="agent"))
    assert (await create(client, reader, scope="agent")).status_code == 403
    assert (await client.get("/api/memory", headers=reader)).status_code == 200
    assert (await client.get("/api/memory")).status_code == 401
    assert (await create(client, {"Authorization": "Bearer nope"})).status_code == 401


# -- versions ----------------------------------------------------------------------------------


async def test_patch_needs_if_match_and_a_stale_one_changes_nothing(client: Any) -> None:
    memory = await created(client, title="one")
    assert await error_of(await patch(client, memory["id"], None, title="x")) == (
        428,
        "If-Match header required",
    )
    assert await error_of(await patch(client, memory["id"], 7, title="x")) == (
        409,
        "version conflict: current version is 1",
    )
    bad = await client.patch(
        f"/api/memory/{memory['id']}", json={"title": "x"}, headers={**H, "If-Match": "v1"}
    )
    assert await error_of(bad) == (400, 'If-Match must be "<version>" or *')
    got = await client.get(f"/api/memory/{memory['id']}", headers=H)
    assert ((await got.get_json())["title"], got.headers["ETag"]) == ("one", '"1"')


async def test_concurrent_patches_with_one_if_match_one_wins(client: Any) -> None:
    memory = await created(client, title="start")
    outcomes: dict[str, tuple[int, Any]] = {}

    async def one(title: str) -> None:
        response = await patch(client, memory["id"], 1, title=title)
        outcomes[title] = (response.status_code, await response.get_json())

    async with trio.open_nursery() as nursery:
        for i in range(8):
            nursery.start_soon(one, f"t{i}")
    winners = [title for title, (status, _) in outcomes.items() if status == 200]
    assert len(winners) == 1
    for title, (status, body) in outcomes.items():
        if title not in winners:
            assert (status, body) == (409, {"error": "version conflict: current version is 2"})
    final = await (await client.get(f"/api/memory/{memory['id']}", headers=H)).get_json()
    assert (final["title"], final["version"]) == (winners[0], 2)


# -- input errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"scope": "team"}, "scope must be one of agent, repo, global"),
        ({"type": "idea"}, "type must be one of user, feedback, project, reference"),
        ({"title": ""}, "title must not be empty"),
        ({"title": "x" * 201}, "title must be at most 200 characters"),
        ({"body": "x" * 16_001}, "body must be at most 16000 characters"),
        ({"tags": ["has space"]}, "tags.0 has an invalid format"),
        ({"tags": ["x"] * 21}, "tags must have at most 20 items"),
        ({"tags": ["x" * 65]}, "tags.0 must be at most 64 characters"),
        (
            {"source": {"kind": "rumour"}},
            "source.kind must be one of agent, message, task, url, manual",
        ),
        (
            {"source": {"kind": "url", "ref": "x" * 501}},
            "source.ref must be at most 500 characters",
        ),
        ({"confidence": "sure"}, "confidence must be one of low, medium, high"),
        ({"scope": "repo"}, "scopeKey is required"),
        ({"scope": "repo", "scopeKey": "srv/one"}, "scopeKey must be an absolute path"),
        ({"scope": "agent"}, "scopeKey is required"),  # root has no one agent
        ({"scope": "global", "scopeKey": "x"}, "scopeKey must be empty for scope global"),
    ],
)
async def test_bad_create_is_refused(client: Any, body: dict[str, Any], message: str) -> None:
    assert await error_of(await create(client, **body)) == (400, message)
    assert (await search(client))["items"] == []


async def test_bad_patch_is_refused_and_changes_nothing(client: Any) -> None:
    memory = await created(client)
    for body, message in (
        ({"scope": "agent"}, "scope cannot change"),
        ({"scopeKey": "/x"}, "scope cannot change"),
        ({"redactionState": "redacted"}, "redactionState must be one of clean, blocked"),
        ({"body": "x" * 16_001}, "body must be at most 16000 characters"),
    ):
        assert await error_of(await patch(client, memory["id"], 1, **body)) == (400, message)
    assert await error_of(await patch(client, "mem_missing", 1, title="x")) == (
        404,
        "memory not found",
    )
    assert await error_of(await client.get("/api/memory/" + "m" * 65, headers=H)) == (
        404,
        "memory not found",
    )
    got = await client.get(f"/api/memory/{memory['id']}", headers=H)
    assert got.headers["ETag"] == '"1"'


async def test_body_limit_follows_the_setting(open_app: Any) -> None:
    async with open_app(memory_max_body_chars=10) as app:
        client = app.test_client()
        assert await error_of(await create(client, body="x" * 11)) == (
            400,
            "body must be at most 10 characters",
        )
        assert (await create(client, body="x" * 10)).status_code == 201


async def test_store_down_is_503(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    memory = await created(client)

    async def down(*_args: Any, **_kwargs: Any) -> Any:
        raise Unavailable("store unavailable")

    # PATCH and DELETE read nothing outside the memory's actor (which holds the version it
    # judges): their 503 comes from the write.
    names = ("load_memory", "insert_memory", "search_candidates", "update_memory", "delete_memory")
    for name in names:
        monkeypatch.setattr(memory_store, name, down)
    for response in (
        await client.get(f"/api/memory/{memory['id']}", headers=H),
        await create(client),
        await client.get("/api/memory", headers=H),
        await patch(client, memory["id"], 1, title="x"),
        await client.delete(f"/api/memory/{memory['id']}", headers=H),
    ):
        assert response.status_code == 503
        assert response.headers["Retry-After"]


async def test_root_token_is_a_relay_credential(client: Any) -> None:
    reply = await created(client, body=f"the token is {ROOT} ok")
    assert reply["body"] == "the token is [REDACTED:relay-credential] ok"


async def test_an_agent_token_limited_to_another_orchestrator_acts_for_nobody(
    client: Any, mint: Any
) -> None:
    from tests.http.helpers import register_orchestrator

    await register_orchestrator(client, "o1")
    await agent(client, "w1", orchestratorId="o1")
    token = bearer(
        mint(MEMORY_SCOPES, {"agents": ["w1"], "orchestrators": ["o2"]}, sub="w1", role="agent")
    )
    assert await error_of(await create(client, token, scope="agent")) == (403, "forbidden")
    assert (await client.get("/api/memory", headers=token)).status_code == 403


async def test_a_restart_keeps_every_version(open_app: Any) -> None:
    async with open_app() as first:
        client = first.test_client()
        memory = await created(client, title="v1")
        assert (await patch(client, memory["id"], 1, title="v2")).status_code == 200
    async with open_app() as second:
        client = second.test_client()
        got = await client.get(f"/api/memory/{memory['id']}", headers=H)
        assert ((await got.get_json())["title"], got.headers["ETag"]) == ("v2", '"2"')
        assert await error_of(await patch(client, memory["id"], 1, title="v3")) == (
            409,
            "version conflict: current version is 2",
        )


async def test_a_constrained_dashboard_token_is_judged_by_its_agents(
    client: Any, mint: Any, people: Any
) -> None:
    """A dashboard token limited to a1 and /srv/one is no memory operator: it sees and
    changes what a1 would, never a2's private secret, a global write or a block."""
    other = await created(
        client,
        people["B"],
        scope="agent",
        scopeKey="a2",
        title="a2 private",
        visibility="private",
        sensitivity="secret",
    )
    own = await created(client, people["A"], scope="agent", scopeKey="a1", title="a1 own")
    dash = bearer(
        mint(MEMORY_SCOPES, {"agents": ["a1"], "cwd": ["/srv/one"]}, sub="ops", role="dashboard")
    )
    assert await error_of(await client.get(f"/api/memory/{other['id']}", headers=dash)) == (
        404,
        "memory not found",
    )
    titles = [m["title"] for m in (await search(client, headers=dash))["items"]]
    assert "a2 private" not in titles
    assert "a1 own" in titles
    assert (await create(client, dash)).status_code == 403
    assert (await patch(client, own["id"], "*", dash, redactionState="blocked")).status_code == 403
    assert (await client.delete(f"/api/memory/{other['id']}", headers=dash)).status_code == 404
    assert (await client.get(f"/api/memory/{own['id']}", headers=dash)).status_code == 200
    assert (await client.get(f"/api/memory/{other['id']}", headers=H)).status_code == 200


async def test_a_principal_creator_is_never_an_agent_of_the_same_name(
    client: Any, mint: Any
) -> None:
    """o1's token (no single agent) creates as its sub; o2 registering an agent named
    ``o1`` claims nothing, and o1 itself still reads its private secret memory."""
    from tests.http.helpers import register_orchestrator

    scopes = [*MEMORY_SCOPES, "agent:read", "agent:write"]
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    await agent(client, "w1", orchestratorId="o1")
    await agent(client, "w2", orchestratorId="o2")
    o1 = bearer(mint(scopes, {"orchestrators": ["o1"]}, sub="o1", role="orchestrator"))
    o2 = bearer(mint(scopes, {"orchestrators": ["o2"]}, sub="o2", role="orchestrator"))
    mine = await created(
        client,
        o1,
        scope="repo",
        scopeKey="/srv/o1/repo",
        title="o1 plan",
        body="o1 body",
        visibility="private",
        sensitivity="secret",
    )
    assert mine["createdBy"] == "o1"
    own = await client.get(f"/api/memory/{mine['id']}", headers=o1)
    assert own.status_code == 200
    assert (await own.get_json())["body"] == "o1 body"
    assert [m["title"] for m in (await search(client, "?q=plan", o1))["items"]] == ["o1 plan"]
    squat = await client.post(
        "/api/agents", json={"id": "o1", "name": "squat", "orchestratorId": "o2"}, headers=o2
    )
    assert squat.status_code in (200, 201), await squat.get_data()
    assert await error_of(await client.get(f"/api/memory/{mine['id']}", headers=o2)) == (
        404,
        "memory not found",
    )
    assert (await search(client, "?q=plan", o2))["items"] == []
    assert (await patch(client, mine["id"], "*", o2, title="x")).status_code == 404
    as_agent = bearer(mint(MEMORY_SCOPES, {"agents": ["o1"]}, sub="o2", role="agent"))
    assert (await client.get(f"/api/memory/{mine['id']}", headers=as_agent)).status_code == 404
    assert (await client.get(f"/api/memory/{mine['id']}", headers=o1)).status_code == 200


async def test_the_scopes_agent_cannot_lower_a_secret_it_may_not_read(
    client: Any, mint: Any
) -> None:
    """An operator writes a secret into a1's scope: a1 may change it, but not read its
    text, so it may not make it readable either (and then read it)."""
    await agent(client, "a1")
    secret = await created(
        client,
        H,
        scope="agent",
        scopeKey="a1",
        title="deploy key location",
        body="the vault path",
        sensitivity="secret",
    )
    a1 = bearer(mint(MEMORY_SCOPES, {"agents": ["a1"]}))
    response = await patch(client, secret["id"], "*", a1, sensitivity="normal")
    assert await error_of(response) == (403, "forbidden")
    read = await (await client.get(f"/api/memory/{secret['id']}", headers=a1)).get_json()
    assert (read["withheld"], read["body"], read["sensitivity"]) == (True, None, "secret")
    # What it may still do: change the rest, keeping it secret.
    response = await patch(client, secret["id"], "*", a1, sensitivity="secret", tags=["ops"])
    assert response.status_code == 200
    response = await patch(client, secret["id"], "*", H, sensitivity="normal")
    assert response.status_code == 200
