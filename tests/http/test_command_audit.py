"""The command channel's audit trail: written in the same commit as the change it records.

One activity event when a command is queued, one when it settles (however many times the
settle is reported, and for expiry too). A command type without settle hooks has its
effects marked applied in the settling commit itself, so recovery never revisits it.
"""

from __future__ import annotations

from typing import Any

import trio

from relay.actors.commands.flows import apply_missed_effects, expire_and_redeliver
from relay.clock import ManualClock
from relay.domain.commands import Command
from relay.http.services import Services
from relay.store import commands as command_store
from tests.http.helpers import H, create_command, patch_command, poll, register_orchestrator


async def command_events(client: Any, command_id: str) -> list[str]:
    events = await (await client.get("/api/activity?view=commands", headers=H)).get_json()
    return sorted(
        event["title"] for event in events if event["metadata"].get("commandId") == command_id
    )


async def stored(services: Services, command_id: str) -> Command:
    command = await services.runtime.store.run(lambda: command_store.load(command_id))
    assert command is not None
    return command


async def test_queued_and_settled_are_each_audited_once(client: Any, services: Services) -> None:
    await register_orchestrator(client)
    command = await create_command(client, type_="bench.noop")

    # A 201 means the audit event is stored too: it is in the command's own commit.
    assert await command_events(client, command["id"]) == ["Command bench.noop queued"]

    await poll(client)
    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(patch_command, client, command["id"], "succeeded")

    assert await command_events(client, command["id"]) == [
        "Command bench.noop queued",
        "Command bench.noop succeeded",
    ]
    settled = await stored(services, command["id"])
    assert settled.status == "succeeded"
    assert settled.effects_applied  # no hooks for this type: complete when it settled


async def test_progress_reports_are_not_audited(client: Any) -> None:
    await register_orchestrator(client)
    command = await create_command(client)
    await poll(client)

    response = await patch_command(client, command["id"], "running")

    assert response.status_code == 200
    assert await command_events(client, command["id"]) == [f"Command {command['type']} queued"]


async def test_expiry_is_audited_once(client: Any, clock: ManualClock, services: Services) -> None:
    await register_orchestrator(client)
    command = await create_command(client, type_="bench.noop", ttlSeconds=5)
    clock.advance(6)

    await expire_and_redeliver(services.runtime)
    await expire_and_redeliver(services.runtime)

    assert await command_events(client, command["id"]) == [
        "Command bench.noop expired",
        "Command bench.noop queued",
    ]
    assert (await stored(services, command["id"])).effects_applied


async def test_a_hooked_type_is_marked_only_once_its_hooks_ran(
    client: Any, clock: ManualClock, services: Services
) -> None:
    ran: list[str] = []

    async def hook(_rt: Any, settled: Command) -> None:
        ran.append(settled.id)
        if len(ran) == 1:
            raise RuntimeError("the first run fails")

    services.runtime.settle_hooks.register("test.hooked", hook)
    await register_orchestrator(client)
    command = await create_command(client, type_="test.hooked")
    await poll(client)

    await patch_command(client, command["id"], "failed", error="boom")

    assert not (await stored(services, command["id"])).effects_applied
    clock.advance(61)  # past the grace period: recovery takes it up
    assert await apply_missed_effects(services.runtime) == {"pending": 1, "applied": 1}
    assert ran == [command["id"], command["id"]]
    assert (await stored(services, command["id"])).effects_applied
    assert await apply_missed_effects(services.runtime) == {"pending": 0, "applied": 0}


async def test_a_poll_expires_what_is_due_and_hands_out_the_rest(
    client: Any, clock: ManualClock, services: Services
) -> None:
    await register_orchestrator(client)
    stale = await create_command(client, type_="bench.noop", ttlSeconds=5)
    clock.advance(6)
    fresh = await create_command(client, type_="bench.noop")

    handed = await poll(client)

    assert [command["id"] for command in handed] == [fresh["id"]]
    assert (await stored(services, fresh["id"])).status == "delivered"
    expired = await stored(services, stale["id"])
    assert (expired.status, expired.effects_applied) == ("expired", True)
    assert "Command bench.noop expired" in await command_events(client, stale["id"])
