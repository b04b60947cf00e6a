"""A deleted agent's messages and conversations stay under its id: a token limited to
another orchestrator cannot take the id, and them, over; an operator can, and the
orchestrator it was deleted under can."""

from __future__ import annotations

from typing import Any

from relay.domain.messages import direct_conversation_id
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator


async def _register(client: Any, agent_id: str, orchestrator_id: str, headers: Any = H) -> Any:
    # Working under its host's base dir: a runtime token is limited to that path.
    meta = {"cwd": f"/srv/{orchestrator_id}/{agent_id}"}
    body = {"id": agent_id, "orchestratorId": orchestrator_id, "meta": meta}
    return await client.post("/api/agents", json=body, headers=headers)


async def test_another_orchestrator_cannot_take_a_deleted_agents_id(client: Any) -> None:
    o1 = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    o2 = bearer((await register_orchestrator(client, "o2", "/srv/o2"))["token"])
    for agent_id in ("a3", "b2"):
        assert (await _register(client, agent_id, "o2")).status_code == 201
    sent = await client.post(
        "/api/messages", json={"from": "a3", "to": "b2", "body": "o2 internal"}, headers=H
    )
    assert sent.status_code == 201
    assert (await client.delete("/api/agents/b2", headers=H)).status_code == 200

    taken = await _register(client, "b2", "o1", o1)
    assert (taken.status_code, await taken.get_json()) == (403, {"error": "forbidden"})
    assert (await client.get("/api/agents/b2", headers=H)).status_code == 404
    conversation = direct_conversation_id("a3", "b2")
    history = await client.get(f"/api/conversations/{conversation}/messages", headers=o1)
    assert history.status_code == 403
    # The orchestrator it was deleted under takes it back, and with it its messages.
    assert (await _register(client, "b2", "o2", o2)).status_code == 201
    inbox = await client.get("/api/agents/b2/inbox?peek=true", headers=o2)
    assert [i["message"]["body"] for i in (await inbox.get_json())["items"]] == ["o2 internal"]


async def test_an_operator_may_give_a_deleted_id_to_another_orchestrator(client: Any) -> None:
    o1 = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    await register_orchestrator(client, "o2", "/srv/o2")
    assert (await _register(client, "b2", "o2")).status_code == 201
    assert (await client.delete("/api/agents/b2", headers=H)).status_code == 200
    assert (await _register(client, "b2", "o1")).status_code == 201
    # A new card of the id: from then on, it is o1's agent like any other.
    assert (await client.delete("/api/agents/b2", headers=o1)).status_code == 200
    assert (await _register(client, "b2", "o1", o1)).status_code == 201


async def test_an_id_never_used_is_free_to_take(client: Any) -> None:
    o1 = bearer((await register_orchestrator(client, "o1", "/srv/o1"))["token"])
    assert (await _register(client, "fresh", "o1", o1)).status_code == 201
