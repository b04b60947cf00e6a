"""One lifecycle action (restart, shutdown, resume) at a time per agent, decided by its actor."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.actors.agent.action_rules import requested_title
from relay.actors.commands.flows import expire_and_redeliver
from relay.clock import ManualClock
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, fail_audit_titled, patch_command, register_orchestrator
from tests.http.test_agent_actions import (
    CLAUDE_META,
    LIFECYCLE_ALL,
    act,
    dead_claude_agent,
    get_agent,
    refused,
    register_agent,
)

BUSY = "a lifecycle action is already in progress for agent a1"


async def managed_agent(client: Any, **fields: Any) -> dict[str, Any]:
    """Orchestrator o1 online; a1, a Claude session it manages, with every capability."""
    orchestrator = await register_orchestrator(client)
    await register_agent(
        client,
        orchestratorId="o1",
        meta=CLAUDE_META,
        providerCapabilities={"lifecycle": LIFECYCLE_ALL},
        **fields,
    )
    return orchestrator


async def accepted(client: Any, action: str) -> dict[str, Any]:
    response = await act(client, action)
    assert response.status_code == 202, await response.get_data()
    command: dict[str, Any] = (await response.get_json())["command"]
    return command


async def availability(client: Any) -> dict[str, tuple[bool, str | None]]:
    entries = await (await client.get("/api/agents/a1/actions", headers=H)).get_json()
    return {entry["action"]: (entry["available"], entry["reason"]) for entry in entries}


async def test_a_second_resume_while_the_first_is_pending_is_409(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await dead_claude_agent(client, services, clock)
    first = await accepted(client, "resume")
    await refused(await act(client, "resume"), 409, BUSY)
    meta = (await get_agent(client))["meta"]
    assert (meta["lifecycleAction"], meta["lifecycleCommandId"]) == ("resuming", first["id"])
    commands = await (await client.get("/api/commands", headers=H)).get_json()
    assert [c["id"] for c in commands if c["type"] == "agent.restart"] == [first["id"]]


@pytest.mark.parametrize(("first", "second"), [("restart", "shutdown"), ("shutdown", "restart")])
async def test_any_lifecycle_action_blocks_the_others(client: Any, first: str, second: str) -> None:
    await managed_agent(client)
    await accepted(client, first)
    await refused(await act(client, second), 409, BUSY)


async def test_concurrent_restarts_give_one_202_and_one_409(client: Any) -> None:
    await managed_agent(client)
    responses: list[Any] = []

    async def restart() -> None:
        responses.append(await act(client, "restart"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(restart)
        nursery.start_soon(restart)
    assert sorted(r.status_code for r in responses) == [202, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert await loser.get_json() == {"error": BUSY}
    winner = next(r for r in responses if r.status_code == 202)
    command = (await winner.get_json())["command"]
    assert (await get_agent(client))["meta"]["lifecycleCommandId"] == command["id"]


@pytest.mark.parametrize("outcome", ["succeeded", "failed", "cancelled"])
async def test_a_new_action_is_allowed_once_the_first_settles(client: Any, outcome: str) -> None:
    orchestrator = await managed_agent(client)
    first = await accepted(client, "restart")
    response = await patch_command(
        client, first["id"], outcome, headers=bearer(orchestrator["token"])
    )
    assert response.status_code == 200
    assert (await availability(client))["restart"] == (True, None)
    await accepted(client, "restart")


async def test_a_new_action_is_allowed_once_the_first_expires(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await managed_agent(client)
    first = await accepted(client, "restart")
    clock.advance(services.runtime.settings.command_default_ttl_seconds)
    assert (await expire_and_redeliver(services.runtime))["expired"] == 1
    assert "lifecycleCommandId" not in (await get_agent(client))["meta"]
    second = await accepted(client, "shutdown")
    assert second["id"] != first["id"]


async def test_an_expired_command_does_not_block_before_the_expiry_job_runs(
    client: Any, services: Services, clock: ManualClock
) -> None:
    await managed_agent(client)
    await accepted(client, "restart")
    clock.advance(services.runtime.settings.command_default_ttl_seconds - 1)
    await refused(await act(client, "restart"), 409, BUSY)
    clock.advance(1)
    await accepted(client, "restart")


@pytest.mark.parametrize("action", ["reconnect", "compact", "clearContext"])
async def test_session_controls_are_not_blocked(client: Any, action: str) -> None:
    await managed_agent(client)
    await accepted(client, "restart")
    await accepted(client, action)
    assert (await availability(client))[action] == (True, None)


async def test_an_unsupported_action_keeps_its_own_error(client: Any) -> None:
    await register_orchestrator(client)
    # Runner-managed, no declared capabilities: restart and shutdown only.
    await register_agent(client, orchestratorId="o1", meta=CLAUDE_META)
    await accepted(client, "restart")
    await refused(await act(client, "compact"), 400, "agent does not support compact")
    await refused(await act(client, "resume"), 400, "agent does not support resume")
    await refused(await act(client, "shutdown"), 409, BUSY)


async def test_the_support_listing_says_lifecycle_actions_are_busy(client: Any) -> None:
    await managed_agent(client)
    assert (await availability(client))["shutdown"] == (True, None)
    await accepted(client, "shutdown")
    found = await availability(client)
    busy = (False, "a lifecycle action is already in progress")
    assert (found["restart"], found["shutdown"]) == (busy, busy)
    assert found["resume"] == (
        False,
        "only a Claude session that is offline or stale can be resumed",
    )
    assert found["compact"] == (True, None)


async def test_a_command_that_could_not_be_created_gives_the_reservation_back(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await managed_agent(client, ready=True)
    with monkeypatch.context() as patched:
        fail_audit_titled(patched, requested_title("restart"))
        response = await act(client, "restart")
        assert response.status_code >= 500
    card = await get_agent(client)
    assert card["ready"] is True
    assert not {"lifecycleAction", "lifecycleCommandId"} & set(card["meta"])
    await accepted(client, "restart")


async def test_a_request_refused_as_busy_changes_nothing(client: Any) -> None:
    await managed_agent(client)
    first = await accepted(client, "restart")
    before = await get_agent(client)
    await refused(await act(client, "shutdown"), 409, BUSY)
    after = await get_agent(client)
    assert after == before
    assert after["meta"]["lifecycleCommandId"] == first["id"]
