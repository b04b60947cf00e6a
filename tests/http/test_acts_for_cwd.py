"""A token limited by ``cwd`` acts only for the agents whose stored working directory
(``meta.cwd``) lies within its paths (``access.acts_for``): a dashboard token limited to
one host's base dir reads, acks and sends as no agent working elsewhere, nor one that
recorded no working directory, and mints no MCP token for it."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.sse_client import open_stream, until_end

OPS_SCOPES = [
    "activity:read",
    "agent:read",
    "agent:write",
    "message:read",
    "message:write",
    "task:read",
    "token:admin",
]
FORBIDDEN = (403, "forbidden")
NEAR, FAR, NOWHERE = "near", "far", "nowhere"  # in /srv/o1/x, in /srv/o2, in no recorded cwd


async def hosts(client: Any) -> dict[str, str]:
    """o1 and o2; ``near`` under o1 working in /srv/o1/x, ``far`` under o2 in /srv/o2,
    ``nowhere`` under o1 with no cwd, each with a message waiting. o1's runtime token."""
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    for agent_id, orchestrator_id, meta in (
        (NEAR, "o1", {"cwd": "/srv/o1/x"}),
        (FAR, "o2", {"cwd": "/srv/o2"}),
        (NOWHERE, "o1", {}),
    ):
        body = {"id": agent_id, "orchestratorId": orchestrator_id, "meta": meta}
        response = await client.post("/api/agents", json=body, headers=H)
        assert response.status_code == 201, await response.get_data()
        sent = await client.post(
            "/api/messages", json={"to": agent_id, "body": "hi", "ackRequired": True}, headers=H
        )
        assert sent.status_code == 201, await sent.get_data()
    return bearer(o1["token"])


def ops(mint: Any) -> dict[str, str]:
    """An operator's dashboard token limited to o1's base dir."""
    return bearer(mint(OPS_SCOPES, {"cwd": ["/srv/o1"]}, sub="ops", role="dashboard"))


async def outcome(response: Any) -> tuple[int, str | None]:
    body = await response.get_json()
    return response.status_code, body.get("error") if isinstance(body, dict) else None


async def inbox(client: Any, agent_id: str, headers: dict[str, str], query: str = "") -> Any:
    return await client.get(f"/api/agents/{agent_id}/inbox{query}", headers=headers)


async def leased(client: Any, agent_id: str) -> str:
    """Root fetches the agent's inbox: the lease of its one message."""
    reply = await (await inbox(client, agent_id, H, "?lease=60")).get_json()
    assert len(reply["items"]) == 1
    lease_id: str = reply["leaseId"]
    return lease_id


async def test_a_path_limited_operator_reads_only_the_inboxes_within_its_paths(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    token = ops(mint)
    for agent_id in (FAR, NOWHERE):
        for query in ("?peek=true", "", "?lease=30"):
            response = await inbox(client, agent_id, token, query)
            assert await outcome(response) == FORBIDDEN, (agent_id, query)
        # Nothing was handed out: root still finds the message queued.
        assert await leased(client, agent_id)
    peek = await (await inbox(client, NEAR, token, "?peek=true")).get_json()
    assert [item["message"]["body"] for item in peek["items"]] == ["hi"]
    fetched = await (await inbox(client, NEAR, token)).get_json()
    assert [item["message"]["body"] for item in fetched["items"]] == ["hi"]


async def test_a_path_limited_operator_acks_only_within_its_paths(client: Any, mint: Any) -> None:
    await hosts(client)
    token = ops(mint)
    for agent_id in (FAR, NOWHERE):
        lease_id = await leased(client, agent_id)
        url = f"/api/agents/{agent_id}/inbox/ack"
        response = await client.post(url, json={"leaseId": lease_id}, headers=token)
        assert await outcome(response) == FORBIDDEN, agent_id
        response = await inbox(client, agent_id, token, f"?ack={lease_id}")
        assert await outcome(response) == FORBIDDEN, agent_id
        # Still root's to ack: the lease was not touched.
        response = await client.post(url, json={"leaseId": lease_id}, headers=H)
        assert len((await response.get_json())["acked"]) == 1
    lease_id = await leased(client, NEAR)
    url = f"/api/agents/{NEAR}/inbox/ack"
    response = await client.post(url, json={"leaseId": lease_id}, headers=token)
    assert response.status_code == 200, await response.get_data()
    assert len((await response.get_json())["acked"]) == 1


async def test_a_path_limited_operator_sends_only_as_agents_within_its_paths(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    token = ops(mint)
    for sender in (FAR, NOWHERE):
        body = {"from": sender, "to": NEAR, "body": "as you"}
        response = await client.post("/api/messages", json=body, headers=token)
        assert await outcome(response) == FORBIDDEN, sender
    body = {"from": NEAR, "to": FAR, "body": "from near"}
    response = await client.post("/api/messages", json=body, headers=token)
    assert response.status_code == 201, await response.get_data()
    assert (await response.get_json())["message"]["from"] == NEAR


async def test_a_path_limited_operator_reads_no_message_of_an_agent_outside(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    token = ops(mint)
    for agent_id in (FAR, NOWHERE, NEAR):
        peek = await (await inbox(client, agent_id, H, "?peek=true")).get_json()
        message = peek["items"][0]["message"]
        response = await client.get(f"/api/messages/{message['id']}", headers=token)
        if agent_id == NEAR:
            assert response.status_code == 200, await response.get_data()
            continue
        assert await outcome(response) == FORBIDDEN, agent_id
        url = f"/api/conversations/{message['conversationId']}/messages"
        assert await outcome(await client.get(url, headers=token)) == FORBIDDEN, agent_id


async def test_a_path_limited_operator_mints_mcp_tokens_only_within_its_paths(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    token = ops(mint)
    for agent_id in (FAR, NOWHERE):
        response = await client.post(f"/api/agents/{agent_id}/mcp-token", headers=token)
        assert await outcome(response) == FORBIDDEN, agent_id
    response = await client.post(f"/api/agents/{NEAR}/mcp-token", headers=token)
    assert response.status_code == 201, await response.get_data()
    minted = bearer((await response.get_json())["token"])
    assert (await inbox(client, NEAR, minted, "?peek=true")).status_code == 200


async def test_a_path_limit_binds_every_kind_of_caller(client: Any, mint: Any) -> None:
    """An orchestrator's runtime token (limited to its base dir) and an agent's token
    limited by path act for no agent whose stored cwd their paths do not hold, their own
    included. One that recorded no cwd is reached by what they name: its host's token
    reaches its agent, its own token the agent, never an operator by its path."""
    o1 = await hosts(client)
    assert (await inbox(client, NEAR, o1, "?peek=true")).status_code == 200
    assert (await inbox(client, NOWHERE, o1, "?peek=true")).status_code == 200
    stray = bearer(mint(["message:read"], {"agents": [FAR], "cwd": ["/srv/o1"]}))
    assert await outcome(await inbox(client, FAR, stray, "?peek=true")) == FORBIDDEN
    own = bearer(mint(["message:read"], {"agents": [NOWHERE], "cwd": ["/srv/o1"]}))
    assert (await inbox(client, NOWHERE, own, "?peek=true")).status_code == 200
    assert await outcome(await inbox(client, NOWHERE, ops(mint), "?peek=true")) == FORBIDDEN


async def test_the_stream_sends_a_path_limited_operator_only_its_agents_messages(
    client: Any, mint: Any
) -> None:
    """A message event is published for its sender, a delivery for its recipient: each
    reaches the operator only for an agent it acts for."""
    await hosts(client)
    async with open_stream(client, headers=ops(mint)) as stream:
        for agent_id in (FAR, NOWHERE, NEAR):
            body = {"from": agent_id, "to": agent_id, "body": f"to {agent_id}"}
            response = await client.post("/api/messages", json=body, headers=H)
            assert response.status_code == 201, await response.get_data()
        frames = await until_end(client, stream)
    messages = [f.data["message"]["from"] for f in frames if f.event == "message"]
    deliveries = [f.data["delivery"]["agentId"] for f in frames if f.event == "delivery"]
    assert (messages, deliveries) == ([NEAR], [NEAR])


async def test_a_path_limited_operator_lists_only_pairs_with_a_party_within_its_paths(
    client: Any, mint: Any
) -> None:
    await hosts(client)
    extra = {"id": "far2", "orchestratorId": "o2", "meta": {"cwd": "/srv/o2/y"}}
    assert (await client.post("/api/agents", json=extra, headers=H)).status_code == 201
    pairs = []
    for driver, navigator in ((FAR, NOWHERE), (NEAR, "far2")):
        body = {"driver": driver, "navigator": navigator, "objective": "x"}
        response = await client.post("/api/pairs", json=body, headers=H)
        assert response.status_code == 201, await response.get_data()
        pairs.append((await response.get_json())["id"])
    token = ops(mint)
    listed = await (await client.get("/api/pairs", headers=token)).get_json()
    assert [p["id"] for p in listed] == [pairs[1]]
    assert await outcome(await client.get(f"/api/pairs/{pairs[0]}", headers=token)) == FORBIDDEN
    assert (await client.get(f"/api/pairs/{pairs[1]}", headers=token)).status_code == 200


async def test_a_path_limited_operator_moves_no_agent_into_its_paths(
    client: Any, mint: Any
) -> None:
    """It acts for agents by their stored cwd: re-pointing one that works elsewhere (or
    nowhere recorded) into its paths, by patch or re-registration, is refused."""
    await hosts(client)
    token = ops(mint)
    for agent_id in (FAR, NOWHERE):
        into = {"meta": {"cwd": f"/srv/o1/{agent_id}"}}
        response = await client.patch(f"/api/agents/{agent_id}", json=into, headers=token)
        assert await outcome(response) == FORBIDDEN, agent_id
        again = {"id": agent_id, **into}
        response = await client.post("/api/agents", json=again, headers=token)
        assert await outcome(response) == FORBIDDEN, agent_id
        assert await outcome(await inbox(client, agent_id, token, "?peek=true")) == FORBIDDEN
    card = await (await client.get(f"/api/agents/{FAR}", headers=H)).get_json()
    assert card["meta"] == {"cwd": "/srv/o2"}
    # Within its paths it moves its agents freely, but sends none out.
    response = await client.patch(
        f"/api/agents/{NEAR}", json={"meta": {"cwd": "/srv/o1/y"}}, headers=token
    )
    assert response.status_code == 200, await response.get_data()
    response = await client.patch(
        f"/api/agents/{NEAR}", json={"meta": {"cwd": "/srv/o2"}}, headers=token
    )
    assert await outcome(response) == FORBIDDEN
    for cwd, status in (("/srv/o2/new", 403), ("/srv/o1/new", 201)):
        body = {"id": f"new-{status}", "meta": {"cwd": cwd}}
        response = await client.post("/api/agents", json=body, headers=token)
        assert response.status_code == status, await response.get_data()


async def test_a_path_limited_operator_registers_no_agent_at_no_place(
    client: Any, mint: Any
) -> None:
    """A new card recording no cwd is at no place its paths cover: it could not read it
    from then on, and would hold the id against the host whose session registers under it
    (o1's runtime token, which acts for its agents by what it names, could not adopt it).
    Nothing is stored; with a cwd within its paths the same card is registered."""
    runtime = await hosts(client)
    token = ops(mint)
    for body in ({"id": "squat"}, {"id": "squat", "orchestratorId": "o1", "meta": {}}):
        response = await client.post("/api/agents", json=body, headers=token)
        assert await outcome(response) == FORBIDDEN, body
    assert (await client.get("/api/agents/squat", headers=H)).status_code == 404
    # The host registers its session under that id, as its daemon does.
    session = {"id": "squat", "orchestratorId": "o1", "meta": {"cwd": "/srv/o1/s"}}
    response = await client.post("/api/agents", json=session, headers=runtime)
    assert response.status_code == 201, await response.get_data()
    placed = {"id": "placed", "meta": {"cwd": "/srv/o1/p"}}
    response = await client.post("/api/agents", json=placed, headers=token)
    assert response.status_code == 201, await response.get_data()
