"""A constrained config:write token changes only the channel bindings whose agents its
constraints cover: never a label, tag or capability binding (which can match any owner's
agents), and it deletes a channel only when it could remove each of its bindings."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors import Runtime
from relay.actors.channels import flows as channels
from relay.domain.channels import BindingSpec
from relay.errors import Forbidden
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator


async def _agent(client: Any, agent_id: str, orchestrator_id: str, **fields: Any) -> None:
    response = await client.post(
        "/api/agents", json={"id": agent_id, "orchestratorId": orchestrator_id, **fields}, headers=H
    )
    assert response.status_code == 201, await response.get_data()


async def _bind(client: Any, channel: str, headers: dict[str, str], **binding: str) -> Any:
    return await client.post(
        f"/api/channels/{channel}/bindings",
        json={"mode": "broadcast", **binding},
        headers=headers,
    )


def _o1(mint: Any) -> dict[str, str]:
    scopes = ["config:write", "message:read"]
    return bearer(mint(scopes, {"orchestrators": ["o1"]}, role="dashboard"))


async def test_a_constrained_token_binds_no_label_tag_or_capability(client: Any, mint: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await _agent(client, "b2", "o2", tags=["only-b2"])
    o1 = _o1(mint)
    assert (await client.post("/api/channels", json={"id": "grab"}, headers=o1)).status_code == 201
    for target_type in ("tag", "label", "capability"):
        response = await _bind(client, "grab", o1, targetType=target_type, target="only-b2")
        assert response.status_code == 403
        assert await response.get_json() == {"error": "forbidden"}
    route = await (await client.get("/api/channels/grab/route", headers=H)).get_json()
    assert route["targets"] == []
    # An operator may, and the constrained token cannot remove what it could not add.
    tagged = await _bind(client, "grab", H, targetType="tag", target="only-b2")
    assert tagged.status_code == 201
    binding = await tagged.get_json()
    response = await client.delete(f"/api/channels/grab/bindings/{binding['id']}", headers=o1)
    assert response.status_code == 403


async def test_a_constrained_token_deletes_only_a_channel_it_could_unbind(
    client: Any, mint: Any
) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await _agent(client, "a1", "o1")
    await _agent(client, "b2", "o2")
    o1 = _o1(mint)
    for channel in ("ops", "mine"):
        response = await client.post("/api/channels", json={"id": channel}, headers=H)
        assert response.status_code == 201
    assert (await _bind(client, "ops", H, targetType="agent", target="b2")).status_code == 201
    assert (await _bind(client, "mine", o1, targetType="agent", target="a1")).status_code == 201
    response = await client.delete("/api/channels/ops", headers=o1)
    assert response.status_code == 403
    ops = await (await client.get("/api/channels/ops", headers=H)).get_json()
    assert [b["target"] for b in ops["bindings"]] == ["b2"]
    assert (await client.delete("/api/channels/mine", headers=o1)).status_code == 200
    assert (await client.delete("/api/channels/ops", headers=H)).status_code == 200


async def test_a_binding_added_after_the_check_keeps_the_channel(services: Services) -> None:
    """The channel's actor judges the delete on the bindings it holds: one added since
    the caller's bindings were judged refuses it."""
    rt: Runtime = services.runtime
    await channels.create_channel(rt, "ops", None, "root")
    judged = frozenset[str]()
    await channels.add_binding(rt, "ops", BindingSpec("broadcast", "tag", "x", "both"), "root")
    with pytest.raises(Forbidden):
        await channels.delete_channel(rt, "ops", "o1", judged)
    assert (await channels.get_channel(rt, "ops")).channel.id == "ops"


async def test_a_binding_of_a_deleted_agent_is_judged_by_its_orchestrator(
    client: Any, mint: Any
) -> None:
    """Its agent deleted, o1 still removes its own binding and deletes its own channel
    (the agent's tombstone says it was o1's); o2's deleted agent stays o2's."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await _agent(client, "a1", "o1")
    await _agent(client, "b2", "o2")
    o1 = _o1(mint)
    for channel in ("mine", "ops"):
        assert (
            await client.post("/api/channels", json={"id": channel}, headers=H)
        ).status_code == 201
    bound = await _bind(client, "mine", o1, targetType="agent", target="a1")
    assert bound.status_code == 201
    assert (await _bind(client, "ops", H, targetType="agent", target="b2")).status_code == 201
    for agent_id in ("a1", "b2"):
        assert (await client.delete(f"/api/agents/{agent_id}", headers=H)).status_code == 200
    assert (await client.delete("/api/channels/ops", headers=o1)).status_code == 403
    binding = await bound.get_json()
    response = await client.delete(f"/api/channels/mine/bindings/{binding['id']}", headers=o1)
    assert response.status_code == 200
    assert (await _bind(client, "mine", o1, targetType="agent", target="a1")).status_code == 201
    assert (await client.delete("/api/channels/mine", headers=o1)).status_code == 200
