"""One commit per change at both ends of a merge, and recovery on start.

A settle's workspace move, lease release and audit row commit together or not at all;
whatever a stop left undone (effects of a settle, a lease whose command was never
queued) is finished when the relay starts again, before it serves, with no grace period.
Restarts open the app twice on one database (as in ``test_restart.py``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from relay.actors import commands
from relay.actors.repo import INTERRUPTED_MERGE, request_cleanup
from relay.domain.workspaces import MergeLease
from relay.store import commands as command_store
from relay.store import workspaces as workspace_store
from tests.conftest import bearer, services_of
from tests.http.helpers import H, fail_audit_titled, patch_command, register_orchestrator
from tests.http.test_workspaces import REPO, action, get_ws, leases, make_workspace


async def titles(client: Any) -> list[str]:
    activity = await (await client.get("/api/activity?limit=200", headers=H)).get_json()
    return [event["title"] for event in activity]


async def effects_applied(test_app: Any, command_id: str) -> bool:
    runtime = services_of(test_app).runtime
    command = await runtime.store.run(lambda: command_store.load(command_id))
    assert command is not None
    return command.effects_applied


async def start_merge(client: Any) -> tuple[str, str]:
    """An orchestrator, a workspace and its merge queued: ``(orchestrator token, command id)``."""
    token: str = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client)
    response = await action(client, "w1", action="merge")
    assert response.status_code == 202
    command_id: str = (await response.get_json())["command"]["id"]
    return token, command_id


async def test_a_settle_whose_audit_fails_moves_nothing_and_a_repeat_applies_it(
    open_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_app() as test_app:
        client = test_app.test_client()
        token, command_id = await start_merge(client)
        with monkeypatch.context() as patched:
            fail_audit_titled(patched, "Workspace merged")
            settled = await patch_command(client, command_id, "succeeded", headers=bearer(token))
            assert settled.status_code == 200  # the command's own settle is committed
            # The audit row could not be written, so neither was the workspace's move nor the
            # lease's release: they are one commit.
            assert (await get_ws(client, "w1"))["status"] == "merge_planned"
            [lease] = await leases(client)
            assert lease["commandId"] == command_id
            assert "Workspace merged" not in await titles(client)
            assert not await effects_applied(test_app, command_id)

        again = await patch_command(client, command_id, "succeeded", headers=bearer(token))
        assert again.status_code == 200
        # The repeated report found the effects missing and applied them before answering.
        assert (await get_ws(client, "w1"))["status"] == "merged"
        assert await leases(client) == []
        assert (await titles(client)).count("Workspace merged") == 1
        assert await effects_applied(test_app, command_id)

        third = await patch_command(client, command_id, "succeeded", headers=bearer(token))
        assert third.status_code == 200
        assert (await titles(client)).count("Workspace merged") == 1


async def test_effects_interrupted_by_a_stop_are_applied_on_start(
    open_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_app() as test_app:
        client = test_app.test_client()
        token, command_id = await start_merge(client)
        await make_workspace(client, "w2")
        with monkeypatch.context() as patched:
            fail_audit_titled(patched, "Workspace merged")  # as if killed right after the settle
            settled = await patch_command(client, command_id, "succeeded", headers=bearer(token))
            assert settled.status_code == 200
        assert not await effects_applied(test_app, command_id)

    # The same clock: no time passes, so no maintenance job's grace period can be what
    # applies them; the start does.
    async with open_app() as test_app:
        client = test_app.test_client()
        assert (await get_ws(client, "w1"))["status"] == "merged"
        assert await leases(client) == []
        assert (await titles(client)).count("Workspace merged") == 1
        assert await effects_applied(test_app, command_id)
        assert (await action(client, "w2", action="merge")).status_code == 202


async def test_a_lease_whose_command_was_never_queued_is_released_on_start(
    open_app: Any,
) -> None:
    async with open_app() as test_app:
        client = test_app.test_client()
        await register_orchestrator(client, "o1", "/srv/o1")
        await make_workspace(client, status="conflict")
        await make_workspace(client, "w2")
        # What a kill -9 between PlanMerge and the command's insert leaves: the lease,
        # bound to a command id, and the workspace planned for it; no command.
        runtime = services_of(test_app).runtime
        ws = await runtime.store.run(lambda: workspace_store.load("w1"))
        assert ws is not None
        planned = replace(
            ws,
            status="merge_planned",
            metadata={"mergeCommandId": "cmd_lost", "statusBeforeMerge": "conflict"},
        )
        lease = MergeLease(REPO, "w1", "t", "cmd_lost", 0, 900_000)
        await runtime.store.write(lambda: workspace_store.update(planned))
        await runtime.store.write(lambda: workspace_store.insert_lease(lease))

    async with open_app() as test_app:
        client = test_app.test_client()
        assert await leases(client) == []
        restored = await get_ws(client, "w1")
        assert restored["status"] == "conflict"  # the status it was planned from
        assert restored["metadata"]["mergeError"] == INTERRUPTED_MERGE
        assert "Workspace merge aborted" in await titles(client)
        assert (await action(client, "w2", action="merge")).status_code == 202


async def test_an_unbound_lease_left_by_an_older_relay_is_released_on_start(
    open_app: Any,
) -> None:
    async with open_app() as test_app:
        client = test_app.test_client()
        await register_orchestrator(client, "o1", "/srv/o1")
        await make_workspace(client)
        runtime = services_of(test_app).runtime
        lease = MergeLease(REPO, "w1", "t", None, 0, 900_000)
        await runtime.store.write(lambda: workspace_store.insert_lease(lease))

    async with open_app() as test_app:
        client = test_app.test_client()
        assert await leases(client) == []
        assert (await get_ws(client, "w1"))["status"] == "ready"
        assert (await action(client, "w1", action="merge")).status_code == 202


async def test_the_lease_is_bound_to_its_command_from_the_start(
    open_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_app() as test_app:
        client = test_app.test_client()
        await register_orchestrator(client, "o1", "/srv/o1")
        await make_workspace(client)
        # The plan's audit row fails: the merge is refused after the lease was taken.
        with monkeypatch.context() as patched:
            seen: list[MergeLease] = []
            insert = workspace_store.insert_lease

            async def spying(lease: MergeLease) -> None:
                seen.append(lease)
                await insert(lease)

            patched.setattr(workspace_store, "insert_lease", spying)
            fail_audit_titled(patched, "Workspace merge")
            response = await action(client, "w1", action="merge")
        assert response.status_code == 500
        [taken] = seen
        assert taken.command_id is not None
        assert taken.command_id.startswith("cmd_")
        # Given back, and the workspace never moved (the plan and its row are one commit).
        assert await leases(client) == []
        ws = await get_ws(client, "w1")
        assert ws["status"] == "ready"
        assert "mergeCommandId" not in ws["metadata"]
        assert "Workspace merge" not in await titles(client)


async def test_a_failed_cleanup_queue_restores_the_status_the_actor_remembered(
    open_app: Any,
) -> None:
    async with open_app() as test_app:
        client = test_app.test_client()
        await register_orchestrator(client, "o1", "/srv/o1")
        await make_workspace(client, status="review_requested")
        runtime = services_of(test_app).runtime
        ws = await runtime.store.run(lambda: workspace_store.load("w1"))
        assert ws is not None

        async def broken(_rt: Any, _spec: Any) -> Any:
            raise RuntimeError("command store exploded")

        # A stale snapshot ("ready") must not be what the rollback restores.
        stale = replace(ws, status="ready")
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(commands, "create", broken)
            with pytest.raises(RuntimeError):
                await request_cleanup(runtime, stale, "t", {})
        after = await get_ws(client, "w1")
        assert after["status"] == "review_requested"
        assert after["metadata"]["cleanupError"] == "cleanup could not be queued"
