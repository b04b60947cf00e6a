"""A sender that is no agent (root, a dashboard user, any token's sub) is never confused
with an agent registered under the same name: the agent takes none of its conversations,
its messages or the replies to them."""

from __future__ import annotations

from typing import Any

import pytest

from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, two_hosts
from tests.http.test_messages_repair import accepted_only


async def test_an_agent_named_after_a_user_does_not_take_the_users_conversations(
    client: Any, mint: Any
) -> None:
    """o1's runtime token registers an agent called ``alice`` on its host. It acts for that
    agent, but not for the dashboard user alice: alice's direct messages to o2's agent v
    stay out of its reach, the message and the conversation alike."""
    o1 = bearer(await two_hosts(client, "v"))
    user = bearer(mint(["message:read", "message:write"], sub="alice", role="dashboard"))
    sent = await client.post(
        "/api/messages", json={"to": "v", "body": "alice's secret for v"}, headers=user
    )
    assert sent.status_code == 201
    secret = (await sent.get_json())["message"]
    assert secret["from"] == "alice"
    # The message itself is refused to o1 (sound).
    response = await client.get(f"/api/messages/{secret['id']}", headers=o1)
    assert response.status_code == 403

    response = await client.post(
        "/api/agents",
        json={"id": "alice", "orchestratorId": "o1", "meta": {"cwd": "/srv/o1/w"}},
        headers=o1,
    )
    assert response.status_code == 201, await response.get_data()

    # Listing the conversations of "its" agent alice does not name alice's with v.
    response = await client.get("/api/conversations?agentId=alice", headers=o1)
    assert response.status_code == 200, await response.get_data()
    listed = [c["id"] for c in await response.get_json()]

    # Sending as its agent alice to v, then reading that conversation, does not hand over
    # what the user alice said to v.
    response = await client.post(
        "/api/messages", json={"from": "alice", "to": "v", "body": "hello"}, headers=o1
    )
    assert response.status_code == 201, await response.get_data()
    # Its agent's conversation with v is its own: not the one the user wrote in.
    assert (await response.get_json())["message"]["conversationId"] != secret["conversationId"]
    response = await client.get(
        f"/api/conversations/{secret['conversationId']}/messages", headers=o1
    )
    text = (await response.get_data()).decode()
    assert "alice's secret for v" not in text, text
    assert secret["conversationId"] not in listed, listed


async def test_a_reply_to_a_user_is_not_delivered_to_an_agent_registered_as_the_user(
    client: Any, mint: Any
) -> None:
    """alice messaged v before any agent was called ``alice``: v's reply answers the user
    (409: not an agent), never the inbox of an agent o1's runtime token later registered
    under that name and reads."""
    o1 = bearer(await two_hosts(client, "v"))
    user = bearer(mint(["message:read", "message:write"], sub="alice", role="dashboard"))
    sent = await client.post("/api/messages", json={"to": "v", "body": "status?"}, headers=user)
    parent = (await sent.get_json())["message"]
    response = await client.post(
        "/api/agents",
        json={"id": "alice", "orchestratorId": "o1", "meta": {"cwd": "/srv/o1/w"}},
        headers=o1,
    )
    assert response.status_code == 201, await response.get_data()
    v = bearer(mint(["message:read", "message:write"], {"agents": ["v"]}))
    response = await client.post(
        "/api/messages",
        json={"replyTo": parent["id"], "body": "v's confidential answer"},
        headers=v,
    )
    assert (response.status_code, await response.get_json()) == (
        409,
        {"error": "cannot reply to alice: not an agent"},
    )
    inbox = await client.get("/api/agents/alice/inbox?peek=true", headers=o1)
    assert inbox.status_code == 200
    text = (await inbox.get_data()).decode()
    assert "v's confidential answer" not in text, (response.status_code, text)


async def test_the_relays_own_senders_are_no_agent_ids(client: Any) -> None:
    """root, the relay, automations and integrations send and create as themselves: no new
    agent takes their names, so nothing they sent is ever read as an agent's (not even a
    message or event stored before senders were told apart)."""
    o1 = bearer(await two_hosts(client, "v"))
    for agent_id in ("root", "relay", "automation:au_1", "integration:ci"):
        for headers in (H, o1):
            body = {"id": agent_id, "orchestratorId": "o1", "meta": {"cwd": "/srv/o1/w"}}
            response = await client.post("/api/agents", json=body, headers=headers)
            assert (response.status_code, await response.get_json()) == (
                400,
                {"error": f"agent id {agent_id} is reserved"},
            ), agent_id
        assert (await client.get(f"/api/agents/{agent_id}", headers=H)).status_code == 404


async def test_an_operator_sends_as_itself_beside_an_agent_of_its_name(
    client: Any, mint: Any
) -> None:
    """A dashboard user's sub names an agent a host registered: the user's sends (no
    ``from``) are still the user's, read by the user, never by the agent's token."""
    o1 = bearer(await two_hosts(client, "v"))
    response = await client.post(
        "/api/agents",
        json={"id": "alice", "orchestratorId": "o1", "meta": {"cwd": "/srv/o1/w"}},
        headers=o1,
    )
    assert response.status_code == 201, await response.get_data()
    alice = bearer(mint(["message:read", "message:write"], sub="alice", role="dashboard"))
    sent = await client.post("/api/messages", json={"to": "v", "body": "for v"}, headers=alice)
    assert sent.status_code == 201, await sent.get_data()
    message = (await sent.get_json())["message"]
    assert message["from"] == "alice"
    assert (await client.get(f"/api/messages/{message['id']}", headers=alice)).status_code == 200
    assert (await client.get(f"/api/messages/{message['id']}", headers=o1)).status_code == 403
    listed = await (await client.get("/api/conversations?agentId=alice", headers=o1)).get_json()
    assert message["conversationId"] not in [c["id"] for c in listed]


@pytest.mark.parametrize(
    "agent_id",
    [
        "Root",
        "RELAY",
        "Automation:nightly",
        "\uff52\uff4f\uff4f\uff54",  # root in fullwidth letters
        "orchestrator:o1",
        "runner:sp_1",
        "mcp:a1",
    ],
)
async def test_a_reserved_id_is_not_taken_by_a_case_or_width_variant(
    client: Any, agent_id: str
) -> None:
    """A variant of a reserved name in case or width reads as that name to a recipient (a
    message carries no sender kind); a token subject the relay mints is reserved too."""
    response = await client.post("/api/agents", json={"id": agent_id}, headers=H)
    assert response.status_code == 400, (response.status_code, await response.get_data())


async def test_a_reply_to_a_message_no_one_was_delivered_yet_is_judged_on_its_sender(
    client: Any, services: Services, mint: Any
) -> None:
    """A message from a sender that is no agent, whose deliveries a send cut short: with no
    recipient to act for, only that sender may reply to it, not any caller."""
    for agent_id in ("a1", "x"):
        response = await client.post("/api/agents", json={"id": agent_id}, headers=H)
        assert response.status_code == 201
    message = await accepted_only(services.runtime, "ci", ("a1",))
    outsider = bearer(mint(["message:read", "message:write"], {"agents": ["x"]}))
    reply = {"replyTo": message.id, "body": "not yours"}
    response = await client.post("/api/messages", json=reply, headers=outsider)
    assert (response.status_code, await response.get_json()) == (403, {"error": "forbidden"})
