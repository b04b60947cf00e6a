"""The cwd rule of ``acts_for`` for an agent at no recorded place (no ``meta.cwd``): it
is reached by its own token and its host's, never by a path limit alone. So a
path-limited caller must neither mint such a host token, nor take a deleted agent's id
(and with it that agent's messages), and the stream must reach the host as the inbox
does."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.sse_client import open_stream, post_activity, until_end
from tests.http.test_acts_for_cwd import FAR, NEAR, NOWHERE, OPS_SCOPES, hosts, inbox, outcome

FORBIDDEN = (403, "forbidden")


def ops_admin(mint: Any) -> dict[str, str]:
    """An operator limited to o1's base dir, who may issue tokens."""
    token = mint([*OPS_SCOPES], {"cwd": ["/srv/o1"]}, sub="ops", role="dashboard")
    return bearer(token)


async def test_a_path_limited_operator_issues_no_host_token_reaching_an_agent_at_no_place(
    client: Any, mint: Any
) -> None:
    """``nowhere`` (under o1, no cwd) is out of the operator's reach; an orchestrator token
    for o1 within its paths would reach it as its host (328be8b): issuing it is refused."""
    await hosts(client)
    admin = ops_admin(mint)
    assert await outcome(await inbox(client, NOWHERE, admin, "?peek=true")) == FORBIDDEN
    response = await client.post(
        "/api/tokens",
        json={
            "sub": "ops:o1",
            "role": "orchestrator",
            "scope": ["message:read"],
            "constraints": {"orchestrators": ["o1"], "cwd": ["/srv/o1"]},
        },
        headers=admin,
    )
    if response.status_code == 201:
        minted = bearer((await response.get_json())["token"])
        reached = await inbox(client, NOWHERE, minted, "?peek=true")
        assert reached.status_code == 403, "the minted host token reads nowhere's inbox"
    assert response.status_code == 403, await response.get_data()


async def test_a_path_limited_operator_takes_no_deleted_agents_id_into_its_paths(
    client: Any, mint: Any
) -> None:
    """A deleted agent's messages stay under its id. ``far`` worked in /srv/o2: once it is
    deleted, a new card of its id placed in /srv/o1 would hand the operator its inbox."""
    await hosts(client)
    token = bearer(mint(OPS_SCOPES, {"cwd": ["/srv/o1"]}, sub="ops", role="dashboard"))
    assert await outcome(await inbox(client, FAR, token, "?peek=true")) == FORBIDDEN
    assert (await client.delete(f"/api/agents/{FAR}", headers=H)).status_code == 200
    again = {"id": FAR, "meta": {"cwd": "/srv/o1/far"}}
    response = await client.post("/api/agents", json=again, headers=token)
    if response.status_code == 201:
        peek = await (await inbox(client, FAR, token, "?peek=true")).get_json()
        assert peek.get("items") == [], "the operator reads the deleted agent's messages"
    assert await outcome(response) == FORBIDDEN
    # Nor by deleting it itself first (delete is judged by agent and orchestrator only).
    await client.post("/api/agents", json={"id": "far3", "meta": {"cwd": "/srv/o2"}}, headers=H)
    sent = await client.post("/api/messages", json={"to": "far3", "body": "hi"}, headers=H)
    assert sent.status_code == 201
    await client.delete("/api/agents/far3", headers=token)
    response = await client.post(
        "/api/agents", json={"id": "far3", "meta": {"cwd": "/srv/o1/x"}}, headers=token
    )
    assert await outcome(response) == FORBIDDEN


async def test_the_stream_reaches_the_host_for_its_agent_at_no_place(
    client: Any, mint: Any
) -> None:
    """o1's runtime token (limited to /srv/o1) reads the inbox of ``nowhere``, its agent
    with no recorded cwd (328be8b); the stream's guard sends it that agent's deliveries too,
    as it did before 31b6374."""
    o1 = await hosts(client)
    assert (await inbox(client, NOWHERE, o1, "?peek=true")).status_code == 200
    async with open_stream(client, headers=o1) as stream:
        for agent_id in (NOWHERE, NEAR, FAR):
            body = {"to": agent_id, "body": f"to {agent_id}"}
            response = await client.post("/api/messages", json=body, headers=H)
            assert response.status_code == 201, await response.get_data()
        frames = await until_end(client, stream)
    deliveries = [f.data["delivery"]["agentId"] for f in frames if f.event == "delivery"]
    assert deliveries == [NOWHERE, NEAR]


async def test_the_stream_reaches_an_agents_own_path_limited_token_at_no_place(
    client: Any, mint: Any
) -> None:
    """A token naming ``nowhere`` and limited to o1's paths (as an orchestrator's MCP
    mint is) reads its inbox; with ``activity:read`` it streams its deliveries too."""
    await hosts(client)
    own = bearer(mint(["message:read", "activity:read"], {"agents": [NOWHERE], "cwd": ["/srv/o1"]}))
    assert (await inbox(client, NOWHERE, own, "?peek=true")).status_code == 200
    async with open_stream(client, headers=own) as stream:
        response = await client.post("/api/messages", json={"to": NOWHERE, "body": "x"}, headers=H)
        assert response.status_code == 201, await response.get_data()
        # Events tied to no agent are withheld from it: its end marker names its agent.
        await post_activity(client, "end", agentId=NOWHERE)
        frames: list[Any] = []
        while not frames or frames[-1].data.get("title") != "end":
            frames.append(await stream.next_event())
    deliveries = [f.data["delivery"]["agentId"] for f in frames if f.event == "delivery"]
    assert deliveries == [NOWHERE]


async def test_an_orchestrator_token_narrowed_below_the_base_dir_is_not_the_host(
    client: Any, mint: Any
) -> None:
    """An ``orchestrator``-role token naming o1 but limited below its baseDir is not o1
    (``is_target``), so neither is it the host that reaches ``nowhere`` (no recorded cwd):
    not on the inbox, not on the stream. Only o1's runtime token is."""
    await hosts(client)
    narrow = {"orchestrators": ["o1"], "cwd": ["/srv/o1/x"]}
    scopes = ["message:read", "activity:read", "agent:write"]
    for sub in ("orch-x", "orchestrator:o1:x"):
        token = bearer(mint(scopes, narrow, sub=sub, role="orchestrator"))
        heartbeat = await client.post("/api/orchestrators/o1/heartbeat", headers=token)
        assert heartbeat.status_code == 403
        assert await outcome(await inbox(client, NOWHERE, token, "?peek=true")) == FORBIDDEN
        assert (await inbox(client, NEAR, token, "?peek=true")).status_code == 200
        async with open_stream(client, headers=token) as stream:
            for agent_id in (NOWHERE, NEAR):
                body = {"to": agent_id, "body": f"to {agent_id} for {sub}"}
                response = await client.post("/api/messages", json=body, headers=H)
                assert response.status_code == 201, await response.get_data()
            frames = await until_end(client, stream)
        deliveries = [f.data["delivery"]["agentId"] for f in frames if f.event == "delivery"]
        assert deliveries == [NEAR], sub
