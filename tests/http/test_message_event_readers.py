"""Who is streamed ``message`` and ``delivery`` events: who reads their records over HTTP
(``relay.actors.messaging.events``), never every token that covers an agent."""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from tests.conftest import bearer
from tests.http.helpers import H, two_hosts
from tests.http.sse_client import open_stream, post_activity, until_end


async def o1_agents_and_a_watcher(
    client: Any, mint: Any, *o2_agents: str
) -> tuple[str, dict[str, str]]:
    """o1 and o2 (``two_hosts``, these agents on o2), a1 and a2 on o1; returns o1's runtime
    token and the headers of an integration token limited to o1, which reaches a1 and a2
    (their cards) but acts for neither."""
    o1_token = await two_hosts(client, *o2_agents)
    for agent_id in ("a1", "a2"):
        response = await client.post(
            "/api/agents", json={"id": agent_id, "orchestratorId": "o1"}, headers=H
        )
        assert response.status_code == 201
    scope = ["activity:read", "message:read", "agent:read"]
    token = mint(scope, {"orchestrators": ["o1"]}, sub="ci", role="integration")
    return o1_token, bearer(token)


async def test_the_stream_carries_no_message_events_to_a_token_acting_for_no_agent(
    client: Any, mint: Any
) -> None:
    """An integration token limited to o1 reaches o1's agents (their cards) but acts for
    none (access.acts_for): it may not read their messages or deliveries over HTTP, so the
    stream must not hand it their ``message`` and ``delivery`` events either."""
    _o1_token, watcher = await o1_agents_and_a_watcher(client, mint, "v")
    assert (await client.get("/api/agents/a1", headers=watcher)).status_code == 200
    async with open_stream(client, headers=watcher) as stream:
        sent = await client.post(
            "/api/messages",
            json={"from": "a1", "to": "a2", "body": "private", "ackRequired": True},
            headers=H,
        )
        assert sent.status_code == 201
        message = (await sent.get_json())["message"]
        frames = await until_end(client, stream)
    # Over HTTP it reads none of it.
    for path in (
        f"/api/messages/{message['id']}",
        f"/api/messages/{message['id']}/deliveries",
        "/api/agents/a2/inbox?peek=true",
    ):
        assert (await client.get(path, headers=watcher)).status_code == 403, path
    leaked = [(f.event, f.data) for f in frames if f.event in ("message", "delivery")]
    assert leaked == []


async def test_an_unconstrained_token_acting_for_no_agent_is_streamed_no_message(
    client: Any, mint: Any
) -> None:
    """An integration token with no constraint acts for no agent (``acts_for``): it reads
    no message over HTTP, and no message or delivery event either, but for the messages it
    sent itself (a sender that is no agent reads its own)."""
    for agent_id in ("a1", "a2"):
        assert (
            await client.post("/api/agents", json={"id": agent_id}, headers=H)
        ).status_code == 201
    watcher = bearer(
        mint(["activity:read", "message:read", "message:write"], sub="ci", role="integration")
    )
    async with open_stream(client, headers=watcher) as stream:
        others = await client.post(
            "/api/messages", json={"from": "a1", "to": "a2", "body": "private"}, headers=H
        )
        assert others.status_code == 201
        own = await client.post("/api/messages", json={"to": "a2", "body": "mine"}, headers=watcher)
        assert own.status_code == 201, await own.get_data()
        frames = await until_end(client, stream)
    other_id = (await others.get_json())["message"]["id"]
    own_id = (await own.get_json())["message"]["id"]
    assert (await client.get(f"/api/messages/{other_id}", headers=watcher)).status_code == 403
    assert (await client.get(f"/api/messages/{own_id}", headers=watcher)).status_code == 200
    streamed = [(f.event, f.data.get("message", {}).get("id")) for f in frames]
    assert ("message", own_id) in streamed
    assert [e for e in streamed if e[0] == "delivery" or e == ("message", other_id)] == []


async def test_an_agent_named_after_a_sender_is_not_streamed_its_messages(
    client: Any, mint: Any
) -> None:
    """A dashboard user's messages name no agent on the stream: a token bound to an agent
    registered as ``alice`` is streamed none of alice's (it reads none over HTTP)."""
    await two_hosts(client, "v")
    user = bearer(mint(["message:read", "message:write"], sub="alice", role="dashboard"))
    response = await client.post(
        "/api/agents", json={"id": "alice", "orchestratorId": "o1"}, headers=H
    )
    assert response.status_code == 201
    impostor = bearer(mint(["activity:read", "message:read"], {"agents": ["alice"]}))
    async with open_stream(client, headers=impostor) as stream:
        sent = await client.post("/api/messages", json={"to": "v", "body": "for v"}, headers=user)
        assert sent.status_code == 201
        # The end mark names its agent: a token limited by agents sees only their rows.
        await post_activity(client, "end", agentId="alice")
        frames = [await stream.next_event()]
        while frames[-1].data.get("title") != "end":
            frames.append(await stream.next_event())
    message_id = (await sent.get_json())["message"]["id"]
    assert (await client.get(f"/api/messages/{message_id}", headers=impostor)).status_code == 403
    assert [f.event for f in frames if f.event in ("message", "delivery")] == []


async def test_a_dead_letter_audit_reaches_who_acts_for_its_recipient(
    client: Any, mint: Any, clock: ManualClock
) -> None:
    """ "Message dead-lettered" names a recipient's delivery and message. An integration
    token limited to o1 reaches a2 (its card) but acts for it not: it reads the delivery
    over HTTP nowhere, so neither the feed nor the stream hands it the audit. o1's runtime
    token, which acts for a2, reads it in both."""
    o1_token, watcher = await o1_agents_and_a_watcher(client, mint)
    host = bearer(o1_token)
    async with (
        open_stream(client, headers=watcher) as theirs,
        open_stream(client, headers=host) as hosts,
    ):
        sent = await client.post(
            "/api/messages",
            json={"from": "a1", "to": "a2", "body": "x", "ackRequired": True, "maxAttempts": 1},
            headers=H,
        )
        assert sent.status_code == 201
        fetched = await client.get("/api/agents/a2/inbox?lease=5", headers=H)
        assert len((await fetched.get_json())["items"]) == 1
        clock.advance(6)
        job = await client.post("/api/maintenance/jobs/inbox-lease-expiry/run", headers=H)
        assert (await job.get_json())["result"] == {"requeued": 0, "deadLettered": 1}
        their_frames = await until_end(client, theirs)
        host_frames = await until_end(client, hosts)

    def dead_letters(frames: list[Any]) -> list[Any]:
        return [f for f in frames if f.event == "activity" and "dead-lettered" in f.data["title"]]

    assert dead_letters(their_frames) == []
    assert len(dead_letters(host_frames)) == 1
    for headers, expected in ((watcher, []), (host, ["Message dead-lettered"])):
        feed = await client.get("/api/activity?view=messages", headers=headers)
        assert feed.status_code == 200, await feed.get_data()
        assert [e["title"] for e in await feed.get_json()] == expected
