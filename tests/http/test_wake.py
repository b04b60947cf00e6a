"""``wake_agent`` through the app's runtime: one ``agent.wake`` per runner-managed agent
while it is unsettled, queued on its online orchestrator and seen by the daemon's poll."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from pydantic import ValidationError

from relay.actors.agent import wake_agent
from relay.actors.orchestrator import reap_orchestrators
from relay.clock import ManualClock
from relay.domain.commands import Command
from relay.domain.orchestrators import Orchestrator
from relay.http.services import Services
from relay.settings import Settings
from relay.store import orchestrators as orchestrator_store
from tests.conftest import bearer
from tests.http.helpers import H, create_command, patch_command, poll, register_orchestrator
from tests.http.test_agent_actions import CLAUDE_META, register_agent

MESSAGE_ID = "msg_" + "a" * 32


async def managed_agent(client: Any, agent_id: str = "a1", orchestrator_id: str = "o1") -> None:
    await register_orchestrator(client, orchestrator_id, f"/srv/{orchestrator_id}")
    await register_agent(client, agent_id, orchestratorId=orchestrator_id, meta=CLAUDE_META)


async def wake(services: Services, agent_id: str = "a1", **fields: Any) -> Command | None:
    return await wake_agent(
        services.runtime,
        agent_id,
        "message",
        message_id=fields.get("message_id", MESSAGE_ID),
        sender=fields.get("sender", "agent-b"),
        importance=fields.get("importance", "normal"),
    )


async def wakes(client: Any, agent_id: str = "a1") -> list[dict[str, Any]]:
    response = await client.get(f"/api/commands?type=agent.wake&agentId={agent_id}", headers=H)
    assert response.status_code == 200, await response.get_data()
    listed: list[dict[str, Any]] = await response.get_json()
    return listed


async def test_a_wake_is_queued_on_the_orchestrator_with_the_spec_s_params(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await managed_agent(client)
    command = await wake(services, importance="high")
    assert command is not None
    assert (command.type, command.target, command.status) == ("agent.wake", "o1", "queued")
    assert command.params == {
        "agentId": "a1",
        "sessionName": CLAUDE_META["sessionName"],
        "reason": "message",
        "messageId": MESSAGE_ID,
        "from": "agent-b",
        "importance": "high",
    }
    assert command.expires_at == command.created_at + 300_000  # RELAY_WAKE_TTL_SECONDS
    handed = await poll(client, "o1")
    assert [c["id"] for c in handed] == [command.id]
    assert handed[0]["params"]["sessionName"] == CLAUDE_META["sessionName"]


async def test_not_twice_while_unsettled_and_again_after_it_settles(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await managed_agent(client)
    first = await wake(services)
    assert first is not None
    assert await wake(services) is None  # queued
    await poll(client, "o1")
    assert await wake(services) is None  # delivered
    assert (await patch_command(client, first.id, "running")).status_code == 200
    assert await wake(services) is None  # running
    assert (await patch_command(client, first.id, "succeeded")).status_code == 200
    second = await wake(services)
    assert second is not None
    assert second.id != first.id
    assert (await patch_command(client, second.id, "failed", error="gone")).status_code == 200
    third = await wake(services)
    assert third is not None
    listed = {c["id"]: c["status"] for c in await wakes(client)}
    assert listed == {first.id: "succeeded", second.id: "failed", third.id: "queued"}


async def test_two_first_deliveries_at_once_queue_one_wake(client: Any, services: Services) -> None:
    await managed_agent(client)
    results: list[Command | None] = []

    async def one() -> None:
        results.append(await wake(services))

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(one)
    queued = [command for command in results if command is not None]
    assert len(queued) == 1
    assert [c["id"] for c in await wakes(client)] == [queued[0].id]


async def test_a_wake_past_its_ttl_no_longer_holds_the_next_back(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await managed_agent(client)
    first = await wake(services)
    assert first is not None
    clock.advance(301)
    response = await client.post("/api/orchestrators/o1/heartbeat", headers=H)
    assert response.status_code == 200
    second = await wake(services)
    assert second is not None
    assert second.id != first.id


async def test_no_wake_for_an_agent_no_runner_manages(client: Any, services: Services) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_agent(client, "a1", orchestratorId="o1", meta={"sessionName": "s-a1"})
    assert await wake(services) is None
    assert await wake(services, "nobody") is None
    assert await wakes(client) == []


async def test_no_wake_when_its_orchestrator_is_offline(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await managed_agent(client)
    clock.advance(301)
    assert [o.status for o in await reap_orchestrators(services.runtime)] == ["offline"]
    assert await wake(services) is None
    assert await wakes(client) == []
    response = await client.post("/api/orchestrators/o1/heartbeat", headers=H)
    assert response.status_code == 200
    assert await wake(services) is not None


async def another_lists_a1(
    client: Any, services: Services, clock: ManualClock, *, own_online: bool
) -> None:
    """a1 stored under o1; o2, online, reports a1's session among its own (its token, its
    heartbeat); o1 online or gone offline."""
    await managed_agent(client)
    o2 = await register_orchestrator(client, "o2", "/srv/o2")
    clock.advance(301)
    session = CLAUDE_META["sessionName"]
    claim = {"agentId": "a1", "sessionName": session, "provider": "claude", "status": "running"}
    response = await client.post(
        "/api/orchestrators/o2/heartbeat",
        json={"managedAgents": [claim]},
        headers=bearer(o2["token"]),
    )
    assert response.status_code == 200, await response.get_data()
    if own_online:
        response = await client.post("/api/orchestrators/o1/heartbeat", headers=H)
        assert response.status_code == 200
    reaped = [o.id for o in await reap_orchestrators(services.runtime)]
    assert reaped == ([] if own_online else ["o1"])


async def send_to_a1(client: Any) -> dict[str, Any]:
    response = await client.post("/api/messages", json={"to": "a1", "body": "hi"}, headers=H)
    assert response.status_code == 201, await response.get_data()
    reply: dict[str, Any] = await response.get_json()
    return reply


async def test_a_message_never_wakes_the_agent_on_another_orchestrator_that_lists_it(
    client: Any, services: Services, clock: ManualClock
) -> None:
    """messaging.md "Waking an agent": "its orchestrator is online". With o1, the one a1
    is stored under, offline, o2 listing a1's session is not a1's orchestrator: no wake,
    and the message waits in the inbox."""
    await another_lists_a1(client, services, clock, own_online=False)
    reply = await send_to_a1(client)
    assert [d["state"] for d in reply["deliveries"]] == ["queued"]
    assert await wakes(client) == []
    assert await poll(client, "o2") == []
    assert await wake(services) is None  # nor through the flow directly


async def test_a_message_wakes_the_agent_on_its_own_orchestrator_not_one_that_lists_it(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await another_lists_a1(client, services, clock, own_online=True)
    reply = await send_to_a1(client)
    [queued] = await wakes(client)
    assert (queued["target"], queued["params"]["messageId"]) == ("o1", reply["message"]["id"])
    assert await poll(client, "o2") == []
    assert [c["id"] for c in await poll(client, "o1")] == [queued["id"]]


async def test_no_wake_for_an_agent_whose_card_names_no_orchestrator(
    client: Any, services: Services
) -> None:
    o1 = await register_orchestrator(client, "o1", "/srv/o1")
    await register_agent(client, "a1", meta=CLAUDE_META)
    claim = {"agentId": "a1", "sessionName": CLAUDE_META["sessionName"]}
    response = await client.post(
        "/api/orchestrators/o1/heartbeat",
        json={"managedAgents": [claim]},
        headers=bearer(o1["token"]),
    )
    assert response.status_code == 200, await response.get_data()
    await send_to_a1(client)
    assert await wakes(client) == []
    assert await poll(client, "o1") == []


async def test_an_unsettled_wake_on_another_orchestrator_holds_it_back(
    client: Any, services: Services
) -> None:
    await managed_agent(client)
    await register_orchestrator(client, "o2", "/srv/o2")
    await create_command(client, "o2", "agent.wake", params={"agentId": "a1"})
    assert await wake(services) is None
    assert len(await wakes(client)) == 1


async def test_an_orchestrator_gone_offline_since_it_was_read_queues_nothing(
    client: Any, services: Services, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await managed_agent(client)
    online = await services.runtime.store.run(lambda: orchestrator_store.list_all())
    clock.advance(301)
    await reap_orchestrators(services.runtime)

    async def as_read_before(*, status: str | None = None) -> list[Orchestrator]:
        return online

    # The store read said online; the orchestrator's actor, asked next, knows better.
    monkeypatch.setattr(orchestrator_store, "list_all", as_read_before)
    assert await wake(services) is None
    assert await wakes(client) == []


async def test_the_ttl_is_relay_wake_ttl_seconds(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAY_WAKE_TTL_SECONDS", "60")
    assert Settings().wake_ttl_seconds == 60
    monkeypatch.setenv("RELAY_WAKE_TTL_SECONDS", "0")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.setattr(services.runtime.settings, "wake_ttl_seconds", 60)
    await managed_agent(client)
    command = await wake(services)
    assert command is not None
    assert command.expires_at == command.created_at + 60_000
