"""Pairs over HTTP: create, read, act, message (spec tasks.md, "Pairs")."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.errors import Unavailable
from relay.store import pairs as pair_store
from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.sse_client import open_stream


async def agent(client: Any, agent_id: str, **fields: Any) -> None:
    response = await client.post(
        "/api/agents", json={"id": agent_id, "name": agent_id, **fields}, headers=H
    )
    assert response.status_code in (200, 201), await response.get_data()


async def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, (await response.get_json())["error"]


async def create(client: Any, headers: Any = None, **body: Any) -> Any:
    return await client.post("/api/pairs", json=body, headers=headers or H)


async def act(client: Any, pair_id: str, headers: Any, **body: Any) -> Any:
    return await client.post(f"/api/pairs/{pair_id}/actions", json=body, headers=headers)


def token_for(mint: Any, agent_id: str) -> dict[str, str]:
    scope = ["task:read", "task:write", "message:read", "message:write"]
    return bearer(mint(scope, {"agents": [agent_id]}, sub=f"sub-{agent_id}"))


async def two_agents(client: Any, mint: Any) -> tuple[dict[str, str], dict[str, str]]:
    await agent(client, "d1")
    await agent(client, "n1")
    return token_for(mint, "d1"), token_for(mint, "n1")


async def a_task(client: Any) -> str:
    response = await client.post("/api/tasks", json={"title": "t"}, headers=H)
    assert response.status_code == 201, await response.get_data()
    task_id: str = (await response.get_json())["id"]
    return task_id


async def formed(client: Any, mint: Any, **extra: Any) -> tuple[dict[str, Any], Any, Any]:
    """A pair of d1 (driver) and n1 (navigator) made by d1, then joined by n1: active."""
    d, n = await two_agents(client, mint)
    response = await create(client, d, driver="d1", navigator="n1", **extra)
    assert response.status_code == 201, await response.get_data()
    pair = await response.get_json()
    response = await act(client, pair["id"], n, action="join")
    assert response.status_code == 200
    return await response.get_json(), d, n


async def test_create_joins_the_parties_the_caller_acts_for(client: Any, mint: Any) -> None:
    d, n = await two_agents(client, mint)
    task_id = await a_task(client)
    response = await create(
        client, d, driver="d1", navigator="n1", taskId=task_id, objective="ship it"
    )
    assert response.status_code == 201
    pair = await response.get_json()
    assert pair["id"].startswith("pair_")
    assert pair["status"] == "forming"
    assert pair["joined"] == ["d1"]
    assert pair["taskId"] == task_id
    assert pair["objective"] == "ship it"
    assert pair["createdBy"] == "sub-d1"
    assert pair["version"] == 1
    assert pair["conversationId"].startswith("cnv_")
    joined = await (await act(client, pair["id"], n, action="join")).get_json()
    assert joined["status"] == "active"
    assert joined["joined"] == ["d1", "n1"]
    assert joined["version"] == 2
    # Joining again is a no-op.
    again = await (await act(client, pair["id"], n, action="join")).get_json()
    assert again == joined


async def test_an_operator_creating_a_pair_joins_both(client: Any) -> None:
    await agent(client, "d1")
    await agent(client, "n1")
    pair = await (await create(client, driver="d1", navigator="n1")).get_json()
    assert pair["status"] == "active"
    assert pair["createdBy"] == "root"


async def test_opening_messages_arrive_in_both_inboxes(client: Any, mint: Any) -> None:
    task_id = await a_task(client)
    pair, d, n = await formed(client, mint, taskId=task_id)
    expected = f"pair {pair['id']}: d1 drives, n1 navigates; task {task_id}"
    for agent_id, headers in (("d1", d), ("n1", n)):
        response = await client.get(f"/api/agents/{agent_id}/inbox?peek=true", headers=headers)
        assert response.status_code == 200, await response.get_data()
        items = (await response.get_json())["items"]
        assert [i["message"]["body"] for i in items] == [expected]
        message = items[0]["message"]
        assert message["from"] == "relay"
        assert message["conversationId"] == pair["conversationId"]
    conversations = await (await client.get("/api/conversations?agentId=d1", headers=d)).get_json()
    [conversation] = conversations
    assert conversation["kind"] == "pair"
    assert conversation["pairId"] == pair["id"]
    assert sorted(conversation["participants"]) == ["d1", "n1"]


async def test_opening_message_without_a_task(client: Any) -> None:
    await agent(client, "d1")
    await agent(client, "n1")
    pair = await (await create(client, driver="d1", navigator="n1")).get_json()
    items = (await (await client.get("/api/agents/n1/inbox?peek=true", headers=H)).get_json())[
        "items"
    ]
    assert items[0]["message"]["body"] == f"pair {pair['id']}: d1 drives, n1 navigates"


async def test_the_full_review_cycle(client: Any, mint: Any) -> None:
    pair, d, n = await formed(client, mint)
    pid = pair["id"]
    assert (await (await act(client, pid, d, action="request-review")).get_json())[
        "status"
    ] == "awaiting_review"
    assert (await (await act(client, pid, n, action="request-changes")).get_json())[
        "status"
    ] == "active"
    await act(client, pid, d, action="request-review")
    done = await (await act(client, pid, n, action="approve")).get_json()
    assert done["status"] == "completed"
    assert done["version"] == 6
    response = await act(client, pid, d, action="abort")
    assert await error_of(response) == (409, "pair is completed; cannot abort")


async def test_wrong_party_is_403_and_wrong_status_409(client: Any, mint: Any) -> None:
    pair, d, n = await formed(client, mint)
    pid = pair["id"]
    assert await error_of(await act(client, pid, n, action="request-review")) == (
        403,
        "only the driver may request-review",
    )
    assert await error_of(await act(client, pid, d, action="approve")) == (
        403,
        "only the navigator may approve",
    )
    assert await error_of(await act(client, pid, n, action="approve")) == (
        409,
        "pair is active; cannot approve",
    )


async def test_a_stale_version_is_409(client: Any, mint: Any) -> None:
    pair, d, _n = await formed(client, mint)
    response = await act(client, pair["id"], d, action="request-review", version=1)
    assert await error_of(response) == (409, "version conflict: current version is 2")
    response = await act(client, pair["id"], d, action="request-review", version=2)
    assert response.status_code == 200


async def test_abort_by_the_creator_or_an_operator(client: Any, mint: Any) -> None:
    await agent(client, "d1")
    await agent(client, "n1")
    await agent(client, "x1")
    orchestrator_like = bearer(mint(["task:read", "task:write"], {"agents": ["d1"]}, sub="boss"))
    pair = await (await create(client, orchestrator_like, driver="d1", navigator="n1")).get_json()
    outsider = token_for(mint, "x1")
    assert await error_of(await act(client, pair["id"], outsider, action="abort")) == (
        403,
        "forbidden",
    )
    aborted = await (await act(client, pair["id"], H, action="abort")).get_json()
    assert aborted["status"] == "aborted"
    # Final: the agents are free for a new pair.
    response = await create(client, driver="d1", navigator="n1")
    assert response.status_code == 201


async def test_a_party_in_an_open_pair_is_409(client: Any, mint: Any) -> None:
    pair, _d, _n = await formed(client, mint)
    await agent(client, "z1")
    response = await create(client, driver="z1", navigator="n1")
    assert await error_of(response) == (409, f"agent n1 is already in pair {pair['id']}")


async def test_concurrent_creates_sharing_an_agent_make_one_pair(client: Any) -> None:
    for agent_id in ("shared", "b0", "b1", "b2", "b3", "b4", "b5"):
        await agent(client, agent_id)
    statuses: list[int] = []
    errors: list[str] = []

    async def one(other: str) -> None:
        response = await create(client, driver="shared", navigator=other)
        statuses.append(response.status_code)
        if response.status_code != 201:
            errors.append((await response.get_json())["error"])

    async with trio.open_nursery() as nursery:
        for i in range(6):
            nursery.start_soon(one, f"b{i}")
    assert sorted(statuses) == [201, 409, 409, 409, 409, 409]
    assert all(e.startswith("agent shared is already in pair pair_") for e in errors)
    listed = await (await client.get("/api/pairs?agentId=shared", headers=H)).get_json()
    assert len(listed) == 1


async def test_create_errors(client: Any, mint: Any) -> None:
    d, _n = await two_agents(client, mint)
    assert await error_of(await create(client, d, driver="d1", navigator="d1")) == (
        400,
        "driver and navigator must differ",
    )
    assert await error_of(await create(client, d, driver="d1", navigator="ghost")) == (
        404,
        "agent not found",
    )
    response = await create(client, d, driver="d1", navigator="n1", objective="x" * 2001)
    assert response.status_code == 400
    response = await create(client, d, navigator="n1")
    assert response.status_code == 400
    response = await client.post("/api/pairs", json={"driver": "d1", "navigator": "n1"})
    assert response.status_code == 401


async def test_a_constrained_token_cannot_pair_others(client: Any, mint: Any) -> None:
    await agent(client, "d1")
    await agent(client, "n1")
    await agent(client, "x1")
    outsider = token_for(mint, "x1")
    assert await error_of(await create(client, outsider, driver="d1", navigator="n1")) == (
        403,
        "forbidden",
    )
    no_scope = bearer(mint(["message:write"], {"agents": ["d1"]}))
    assert await error_of(await create(client, no_scope, driver="d1", navigator="n1")) == (
        403,
        "forbidden",
    )


async def test_an_agent_token_cannot_act_for_the_other_party(client: Any, mint: Any) -> None:
    pair, d, _n = await formed(client, mint)
    await act(client, pair["id"], d, action="request-review")
    # d1's token may not approve on the navigator's behalf.
    assert await error_of(await act(client, pair["id"], d, action="approve")) == (
        403,
        "only the navigator may approve",
    )


async def test_read_pairs(client: Any, mint: Any) -> None:
    pair, d, _n = await formed(client, mint)
    await agent(client, "x1")
    outsider = token_for(mint, "x1")
    response = await client.get(f"/api/pairs/{pair['id']}", headers=d)
    assert (await response.get_json())["id"] == pair["id"]
    assert await error_of(await client.get(f"/api/pairs/{pair['id']}", headers=outsider)) == (
        403,
        "forbidden",
    )
    assert await error_of(await client.get("/api/pairs/pair_nope", headers=H)) == (
        404,
        "pair not found",
    )
    assert await error_of(await client.get("/api/pairs/" + "p" * 65, headers=H)) == (
        404,
        "pair not found",
    )
    assert [p["id"] for p in await (await client.get("/api/pairs", headers=d)).get_json()] == [
        pair["id"]
    ]
    assert await (await client.get("/api/pairs", headers=outsider)).get_json() == []
    response = await client.get("/api/pairs?status=active&agentId=n1", headers=H)
    assert [p["id"] for p in await response.get_json()] == [pair["id"]]
    response = await client.get("/api/pairs?status=completed", headers=H)
    assert await response.get_json() == []
    response = await client.get("/api/pairs?status=bogus", headers=H)
    assert response.status_code == 400
    assert await error_of(await act(client, "pair_nope", H, action="abort")) == (
        404,
        "pair not found",
    )


async def test_action_message_goes_to_the_other_party(client: Any, mint: Any) -> None:
    pair, d, n = await formed(client, mint)
    response = await act(client, pair["id"], d, action="message", message="look at foo.py")
    assert response.status_code == 200
    assert (await response.get_json())["version"] == pair["version"]
    items = (await (await client.get("/api/agents/n1/inbox?peek=true", headers=n)).get_json())[
        "items"
    ]
    last = items[-1]["message"]
    assert (last["from"], last["to"], last["body"]) == ("d1", "n1", "look at foo.py")
    assert last["conversationId"] == pair["conversationId"]
    response = await act(client, pair["id"], d, action="message")
    assert await error_of(response) == (400, "message is required for action message")
    response = await act(client, pair["id"], d, action="dance")
    assert response.status_code == 400


async def test_pair_messages_route(client: Any, mint: Any) -> None:
    pair, d, n = await formed(client, mint)
    url = f"/api/pairs/{pair['id']}/messages"
    response = await client.post(url, json={"body": "hi nav", "clientMessageId": "c1"}, headers=d)
    assert response.status_code == 201
    sent = await response.get_json()
    assert sent["message"]["to"] == "n1"
    assert [x["agentId"] for x in sent["deliveries"]] == ["n1"]
    again = await client.post(url, json={"body": "hi nav", "clientMessageId": "c1"}, headers=d)
    assert again.status_code == 200
    back = await client.post(url, json={"body": "hi driver"}, headers=n)
    assert (await back.get_json())["message"]["to"] == "d1"
    # A reply stays in the pair's conversation while the pair is open, as the spec says.
    parent = sent["message"]
    on_it = {"replyTo": parent["id"], "body": "on it", "clientMessageId": "r1"}
    reply = await client.post("/api/messages", json=on_it, headers=n)
    assert reply.status_code == 201
    assert (await reply.get_json())["message"]["conversationId"] == pair["conversationId"]
    await agent(client, "x1")
    outsider = token_for(mint, "x1")
    assert await error_of(await client.post(url, json={"body": "x"}, headers=outsider)) == (
        403,
        "forbidden",
    )
    # A reply into the pair's conversation is its parties' too: no other agent's.
    as_outsider = {"replyTo": parent["id"], "body": "x", "from": "x1"}
    assert await error_of(await client.post("/api/messages", json=as_outsider, headers=H)) == (
        403,
        "only the driver or navigator may message",
    )
    assert (await client.post(url, json={"body": ""}, headers=d)).status_code == 400
    await act(client, pair["id"], d, action="abort")
    assert await error_of(await client.post(url, json={"body": "late"}, headers=d)) == (
        409,
        "pair is aborted",
    )
    # A repeat of what was accepted before is answered with it, as any repeat...
    again = await client.post(url, json={"body": "hi nav", "clientMessageId": "c1"}, headers=d)
    assert again.status_code == 200
    assert (await again.get_json())["message"]["id"] == sent["message"]["id"]
    again = await client.post("/api/messages", json=on_it, headers=n)
    assert again.status_code == 200
    assert (await again.get_json())["message"]["id"] == (await reply.get_json())["message"]["id"]
    # ... but a new message is refused, and a reply does not reopen the pair.
    late = await client.post(
        "/api/messages", json={"replyTo": parent["id"], "body": "late"}, headers=n
    )
    assert await error_of(late) == (409, "pair is aborted")
    history = await client.get(f"/api/conversations/{pair['conversationId']}/messages", headers=H)
    assert "late" not in [m["body"] for m in (await history.get_json())["messages"]]
    response = await client.post("/api/pairs/pair_nope/messages", json={"body": "x"}, headers=d)
    assert await error_of(response) == (404, "pair not found")


async def test_pairs_survive_a_restart(open_app: Any) -> None:
    async with open_app() as first:
        client = first.test_client()
        await agent(client, "d1")
        await agent(client, "n1")
        pair = await (await create(client, driver="d1", navigator="n1")).get_json()
    async with open_app() as second:
        client = second.test_client()
        found = await (await client.get(f"/api/pairs/{pair['id']}", headers=H)).get_json()
        assert found == pair
        await agent(client, "z1")
        response = await create(client, driver="z1", navigator="d1")
        assert await error_of(response) == (409, f"agent d1 is already in pair {pair['id']}")


async def test_pair_events_on_the_stream(client: Any, mint: Any) -> None:
    await agent(client, "d1")
    await agent(client, "n1")
    async with open_stream(client, {"view": "pairs"}) as stream:
        created = await (await create(client, driver="d1", navigator="n1")).get_json()
        updated = await (await act(client, created["id"], H, action="abort")).get_json()
        frames = await stream.events(2)
    # ``createdByAgent``: the creator's kind as stored, by which the stream judges who
    # reads the event as the pair's creator (``pairs.PairEvents``), as GET judges it.
    assert [(f.event, f.data) for f in frames] == [
        ("pair", {"change": "created", "pair": created, "createdByAgent": False}),
        ("pair", {"change": "updated", "pair": updated, "createdByAgent": False}),
    ]


async def test_a_failed_create_is_503_and_frees_the_agents(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await agent(client, "d1")
    await agent(client, "n1")
    real = pair_store.insert

    async def down(_pair: Any) -> None:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(pair_store, "insert", down)
    response = await create(client, driver="d1", navigator="n1")
    assert await error_of(response) == (503, "store unavailable")
    assert response.headers["Retry-After"]
    monkeypatch.setattr(pair_store, "insert", real)
    assert await (await client.get("/api/pairs", headers=H)).get_json() == []
    assert (await create(client, driver="d1", navigator="n1")).status_code == 201


async def test_a_failed_abort_keeps_the_pair_and_its_parties(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await agent(client, "d1")
    await agent(client, "n1")
    await agent(client, "z1")
    pair = await (await create(client, driver="d1", navigator="n1")).get_json()
    real = pair_store.update

    async def down(_pair: Any) -> None:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(pair_store, "update", down)
    response = await act(client, pair["id"], H, action="abort")
    assert await error_of(response) == (503, "store unavailable")
    monkeypatch.setattr(pair_store, "update", real)
    found = await (await client.get(f"/api/pairs/{pair['id']}", headers=H)).get_json()
    assert found["status"] == "active"
    response = await create(client, driver="z1", navigator="d1")
    assert await error_of(response) == (409, f"agent d1 is already in pair {pair['id']}")
    assert (await act(client, pair["id"], H, action="abort")).status_code == 200
    assert (await create(client, driver="z1", navigator="d1")).status_code == 201


async def test_pair_messages_take_either_scope(client: Any, mint: Any) -> None:
    pair, _d, _n = await formed(client, mint)
    url = f"/api/pairs/{pair['id']}/messages"
    messenger = bearer(mint(["message:write"], {"agents": ["d1"]}))
    assert (await client.post(url, json={"body": "a"}, headers=messenger)).status_code == 201
    reader = bearer(mint(["message:read", "task:read"], {"agents": ["d1"]}))
    response = await client.post(url, json={"body": "b"}, headers=reader)
    assert await error_of(response) == (403, "forbidden")


async def test_a_pair_message_carries_an_attachment(client: Any, mint: Any) -> None:
    pair, d, n = await formed(client, mint)
    upload = await client.post(
        "/api/artifacts", data=b"patch", query_string={"name": "p.diff"}, headers=d
    )
    assert upload.status_code == 201, await upload.get_data()
    artifact_id = (await upload.get_json())["artifact"]["id"]
    url = f"/api/pairs/{pair['id']}/messages"
    body = {"body": "see", "attachments": [{"artifactId": artifact_id}]}
    response = await client.post(url, json=body, headers=d)
    assert response.status_code == 201, await response.get_data()
    [attached] = (await response.get_json())["message"]["attachments"]
    assert attached["artifactId"] == artifact_id
    items = (await (await client.get("/api/agents/n1/inbox?peek=true", headers=n)).get_json())[
        "items"
    ]
    assert items[-1]["message"]["attachments"][0]["artifactId"] == artifact_id
    unknown = {"body": "x", "attachments": [{"artifactId": "art_nope"}]}
    response = await client.post(url, json=unknown, headers=d)
    assert await error_of(response) == (404, "artifact not found")


async def test_a_pair_for_an_unknown_task_is_404(client: Any) -> None:
    await agent(client, "d1")
    await agent(client, "n1")
    response = await create(client, driver="d1", navigator="n1", taskId="task_nope")
    assert await error_of(response) == (404, "task not found")
    assert await (await client.get("/api/pairs", headers=H)).get_json() == []
    # Nothing reserved: the agents pair up once the task is real.
    response = await create(client, driver="d1", navigator="n1", taskId=await a_task(client))
    assert response.status_code == 201


async def test_failed_opening_messages_answer_201_and_are_sent_on_the_next_action(
    client: Any, mint: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from relay.actors import messaging

    d, n = await two_agents(client, mint)
    real = messaging.send_in_conversation

    async def down(*_a: Any, **_k: Any) -> Any:
        raise Unavailable("store unavailable")

    monkeypatch.setattr(messaging, "send_in_conversation", down)
    response = await create(client, d, driver="d1", navigator="n1")
    assert response.status_code == 201, await response.get_data()
    pair = await response.get_json()
    assert f"pair_open_failed pair={pair['id']}" in caplog.text
    monkeypatch.setattr(messaging, "send_in_conversation", real)
    # A retry of the create is the spec's 409: the pair exists, whole.
    response = await create(client, d, driver="d1", navigator="n1")
    assert await error_of(response) == (409, f"agent d1 is already in pair {pair['id']}")
    inbox = "/api/agents/n1/inbox?peek=true"
    assert (await (await client.get(inbox, headers=n)).get_json())["items"] == []
    # The next action on the pair sends the missed openings, once however often it runs.
    assert (await act(client, pair["id"], n, action="join")).status_code == 200
    assert (await act(client, pair["id"], n, action="join")).status_code == 200
    expected = f"pair {pair['id']}: d1 drives, n1 navigates"
    for agent_id, headers in (("d1", d), ("n1", n)):
        response = await client.get(f"/api/agents/{agent_id}/inbox?peek=true", headers=headers)
        items = (await response.get_json())["items"]
        assert [i["message"]["body"] for i in items] == [expected]


async def test_the_pair_list_filters_before_the_limit(client: Any, mint: Any) -> None:
    for agent_id in ("d1", "n1", "x1", "y1"):
        await agent(client, agent_id)
    d = token_for(mint, "d1")
    mine = await (await create(client, d, driver="d1", navigator="n1")).get_json()
    response = await create(client, driver="x1", navigator="y1")
    assert response.status_code == 201
    response = await client.get("/api/pairs?limit=1", headers=d)
    assert [p["id"] for p in await response.get_json()] == [mine["id"]]
    # A token of no agent sees the pairs its sub created, and only those.
    person = bearer(mint(["task:read", "task:write"], {}, sub="person"))
    response = await client.get("/api/pairs?limit=1", headers=person)
    assert await response.get_json() == []
    # A constrained operator sees the pairs of the agents it covers, not all.
    dash = bearer(mint(["task:read"], {"agents": ["x1"]}, sub="ops", role="dashboard"))
    response = await client.get("/api/pairs?limit=5", headers=dash)
    assert [p["driver"] for p in await response.get_json()] == ["x1"]


async def test_creator_rights_follow_stored_agents_not_the_sub(client: Any, mint: Any) -> None:
    for agent_id in ("d1", "n1", "c1"):
        await agent(client, agent_id)
    # The creator recorded is the caller's sub, here the name of agent c1.
    creator = bearer(mint(["task:read", "task:write"], {"agents": ["d1"]}, sub="c1"))
    pair = await (await create(client, creator, driver="d1", navigator="n1")).get_json()
    assert pair["createdBy"] == "c1"
    # Another token whose sub is "c1" but which acts for no agent named c1 is no creator:
    # c1 is an agent, so creator rights go to those who act for it.
    impostor = bearer(mint(["task:read", "task:write"], {"agents": ["n1x"]}, sub="c1"))
    assert await error_of(await client.get(f"/api/pairs/{pair['id']}", headers=impostor)) == (
        403,
        "forbidden",
    )
    assert await error_of(await act(client, pair["id"], impostor, action="abort")) == (
        403,
        "forbidden",
    )
    assert await (await client.get("/api/pairs", headers=impostor)).get_json() == []
    # Acting for c1 is what makes one its creator.
    c1 = token_for(mint, "c1")
    response = await client.get(f"/api/pairs/{pair['id']}", headers=c1)
    assert response.status_code == 200
    assert [p["id"] for p in await (await client.get("/api/pairs", headers=c1)).get_json()] == [
        pair["id"]
    ]
    assert (await act(client, pair["id"], c1, action="abort")).status_code == 200


async def test_a_pair_message_checks_and_links_a_secret_attachment(client: Any, mint: Any) -> None:
    pair, d, n = await formed(client, mint)
    await agent(client, "x1")

    async def secret(headers: dict[str, str]) -> str:
        response = await client.post(
            "/api/artifacts",
            data=b"s3cret",
            query_string={"name": "s.txt", "sensitivity": "secret"},
            headers=headers,
        )
        assert response.status_code == 201, await response.get_data()
        artifact_id: str = (await response.get_json())["artifact"]["id"]
        return artifact_id

    url = f"/api/pairs/{pair['id']}/messages"
    others = await secret(token_for(mint, "x1"))
    response = await client.post(
        url, json={"body": "x", "attachments": [{"artifactId": others}]}, headers=d
    )
    assert await error_of(response) == (403, "forbidden")
    mine = await secret(d)
    assert (await client.get(f"/api/artifacts/{mine}", headers=n)).status_code == 403
    response = await client.post(
        url, json={"body": "x", "attachments": [{"artifactId": mine}]}, headers=d
    )
    assert response.status_code == 201, await response.get_data()
    # Linked to the message: its recipient may now read it.
    assert (await client.get(f"/api/artifacts/{mine}", headers=n)).status_code == 200


async def test_registering_an_agent_named_like_a_creators_sub_takes_nothing(
    client: Any, mint: Any
) -> None:
    """Whether the creator is an agent is as stored at create: a token limited to
    orchestrator o2 that registers an agent named like the sub that created o1's pair does
    not become its creator (read, list, abort), and that sub stays it."""
    await agent(client, "d1", orchestratorId="o1")
    await agent(client, "n1", orchestratorId="o1")
    scope = ["task:read", "task:write"]
    o1 = bearer(mint(scope, {"orchestrators": ["o1"]}, role="orchestrator", sub="orch-o1"))
    response = await create(client, o1, driver="d1", navigator="n1")
    assert response.status_code == 201, await response.get_data()
    pair = await response.get_json()
    squatter = bearer(
        mint(["agent:write", *scope], {"orchestrators": ["o2"]}, role="orchestrator", sub="o2")
    )
    response = await client.post(
        "/api/agents", json={"id": "orch-o1", "orchestratorId": "o2"}, headers=squatter
    )
    assert response.status_code == 201
    response = await client.get(f"/api/pairs/{pair['id']}", headers=squatter)
    assert await error_of(response) == (403, "forbidden")
    assert await (await client.get("/api/pairs", headers=squatter)).get_json() == []
    response = await act(client, pair["id"], squatter, action="abort")
    assert await error_of(response) == (403, "forbidden")
    # The sub that created it still reads and lists it.
    response = await client.get(f"/api/pairs/{pair['id']}", headers=o1)
    assert response.status_code == 200
    listed = await (await client.get("/api/pairs", headers=o1)).get_json()
    assert [p["id"] for p in listed] == [pair["id"]]
