"""What a non-agent principal (root, an integration, an orchestrator, a token's sub) sent
or created is its own by name; a token bound to one agent is that agent, whatever sub it
was minted with, and a constrained grantor names tokens only after itself."""

from __future__ import annotations

from typing import Any

from tests.conftest import bearer
from tests.http.helpers import H
from tests.http.test_artifacts import error_of, uploaded


async def _register(client: Any, *agent_ids: str) -> None:
    for agent_id in agent_ids:
        response = await client.post("/api/agents", json={"id": agent_id}, headers=H)
        assert response.status_code == 201


async def test_a_token_bound_to_an_agent_is_not_the_principal_its_sub_names(
    client: Any, mint: Any
) -> None:
    await _register(client, "a1", "a2")
    sent = await client.post("/api/messages", json={"to": "a2", "body": "for a2"}, headers=H)
    message = (await sent.get_json())["message"]
    assert message["from"] == "root"
    artifact = (await uploaded(client, b"root's", sensitivity="secret"))["artifact"]
    named_root = bearer(
        mint(["message:read", "message:write", "task:read"], {"agents": ["a1"]}, sub="root")
    )
    for path in (f"/api/messages/{message['id']}", f"/api/messages/{message['id']}/deliveries"):
        assert await error_of(await client.get(path, headers=named_root)) == (403, "forbidden")
    url = f"/api/artifacts/{artifact['id']}"
    assert await error_of(await client.delete(url, headers=named_root)) == (403, "forbidden")
    # The principal itself still reads what it sent, and a token of its name bound to no
    # one agent is it.
    assert (await client.get(f"/api/messages/{message['id']}", headers=H)).status_code == 200
    unbound = bearer(mint(["message:read"], {"orchestrators": ["o1"]}, sub="ci-bot"))
    sent = await client.post(
        "/api/messages",
        json={"to": "a2", "body": "from the bot"},
        headers=bearer(mint(["message:write"], {"orchestrators": ["o1"]}, sub="ci-bot")),
    )
    assert sent.status_code == 201, await sent.get_json()
    bot_message = (await sent.get_json())["message"]
    response = await client.get(f"/api/messages/{bot_message['id']}", headers=unbound)
    assert response.status_code == 200


async def test_a_constrained_grantor_names_tokens_only_after_itself(client: Any, mint: Any) -> None:
    """Not the relay's own names, not an operator's: what a principal sent is its own by
    name. A token:admin limited to o1 naming a token alice read alice's messages to o2."""
    admin = bearer(mint(["token:admin", "message:read"], {"agents": ["a1"]}, sub="ops-a1"))
    body = {"role": "provider", "scope": ["message:read"], "constraints": {"agents": ["a1"]}}
    for sub in ("root", "relay", "orchestrator:o2", "integration:ci", "alice", "ops-a1x"):
        response = await client.post("/api/tokens", json={**body, "sub": sub}, headers=admin)
        assert await error_of(response) == (
            403,
            f"cannot issue a token named {sub}: a caller with constraints names its tokens "
            "ops-a1 or ops-a1:<name>",
        )
    listed = await (await client.get("/api/tokens", headers=H)).get_json()
    assert [r["sub"] for r in listed] == []
    for sub in ("ops-a1", "ops-a1:ci-bot"):
        response = await client.post("/api/tokens", json={**body, "sub": sub}, headers=admin)
        assert response.status_code == 201
    # Unconstrained, an operator names its tokens freely.
    response = await client.post("/api/tokens", json={**body, "sub": "alice"}, headers=H)
    assert response.status_code == 201
