"""Edges of merges and cleanups: a command queued after all though its caller gave up, a
purge mid-merge, auto-merge past an offline host, a lease expired by the next merge, a
conflict reported while a merge ran."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.actors.commands.messages import Enqueue
from relay.actors.orchestrator import reap_orchestrators
from relay.clock import ManualClock
from relay.errors import Unavailable
from relay.http.services import Services
from tests.conftest import bearer
from tests.http.helpers import H, patch_command, register_orchestrator
from tests.http.test_workspaces import REPO, action, get_ws, leases, make_workspace

OPEN = ("queued", "delivered", "running")


async def open_merges(client: Any) -> list[dict[str, Any]]:
    listing: list[dict[str, Any]] = await (
        await client.get("/api/commands?target=o1", headers=H)
    ).get_json()
    return [c for c in listing if c["type"] == "workspace.merge" and c["status"] in OPEN]


JOBS = ("merge-lease-expiry", "command-expiry", "auto-merge")


async def run_jobs(client: Any) -> None:
    for job in JOBS:
        run = await client.post(f"/api/maintenance/jobs/{job}/run", headers=H)
        assert run.status_code == 200, await run.get_data()


async def titles(client: Any) -> list[str]:
    activity = await (await client.get("/api/activity?limit=200", headers=H)).get_json()
    return [event["title"] for event in activity]


# -- 1. a merge command queued after all keeps its lease ---------------------------------------


@pytest.mark.parametrize("interruption", ["ask timed out", "caller went away"])
async def test_a_merge_command_that_was_queued_keeps_the_repos_lease(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch, interruption: str
) -> None:
    """The orchestrator's actor stored the command, but no answer came in time (503) or the
    request was cancelled (the dashboard's tab closed) while it waited: the host will merge
    it, so the repository's lease stays bound to it and the workspace planned for it; a
    second merge into the repository is refused until it settles."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, "w1")
    await make_workspace(client, "w2")
    registry = services.runtime.registry
    ask = registry.ask
    outer = trio.CancelScope()

    async def queued_then_interrupted(kind: str, key: str, message: Any, **kwargs: Any) -> Any:
        reply = await ask(kind, key, message, **kwargs)
        if isinstance(message, Enqueue) and message.spec.type == "workspace.merge":
            if interruption == "ask timed out":
                raise Unavailable("orchestrator actor timed out")
            outer.cancel()
            await trio.lowlevel.checkpoint()
        return reply

    monkeypatch.setattr(registry, "ask", queued_then_interrupted)
    with outer:
        first = await action(client, "w1", action="merge")
        assert first.status_code == 503
    monkeypatch.setattr(registry, "ask", ask)

    [command] = await open_merges(client)
    assert [lease["commandId"] for lease in await leases(client)] == [command["id"]]
    assert (await get_ws(client, "w1"))["status"] == "merge_planned"
    second = await action(client, "w2", action="merge")
    assert second.status_code == 409, await second.get_data()
    assert [c["id"] for c in await open_merges(client)] == [command["id"]]


# -- 2. purging a workspace mid-merge must not free the repository -----------------------------


async def test_deleting_a_workspace_mid_merge_does_not_free_the_repo_for_a_second_merge(
    client: Any, mint: Any
) -> None:
    """Purging a record (``agent:write``) must not free the repository's lease while the
    merge command bound to it is still queued for the host (force-releasing a lease needs
    ``token:admin`` and is audited): 409, and a second merge is refused."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, "w1")
    await make_workspace(client, "w2")
    first = await action(client, "w1", action="merge")
    assert first.status_code == 202
    command_id = (await first.get_json())["command"]["id"]
    agent_writer = bearer(mint(["agent:read", "agent:write"]))
    purge = await client.delete("/api/workspaces/w1", headers=agent_writer)
    assert (purge.status_code, await purge.get_json()) == (
        409,
        {"error": "a merge is in progress for this workspace; retry after it settles"},
    )
    assert (await get_ws(client, "w1"))["status"] == "merge_planned"
    assert [c["id"] for c in await open_merges(client)] == [command_id]
    # The command bound to the lease has not settled: the lease is still its.
    assert [lease["commandId"] for lease in await leases(client)] == [command_id]
    second = await action(client, "w2", action="merge")
    assert second.status_code == 409, await second.get_data()


# -- 3. auto-merge: a workspace whose named host is offline does not starve its repository -----


async def test_auto_merge_is_not_blocked_by_a_workspace_whose_host_is_offline(
    client: Any, clock: ManualClock, services: Services
) -> None:
    """Two hosts share a ``baseDir`` (each on its own machine, as the README allows). ``wa``
    is recorded under o2, which is offline; ``wb`` under o1, online. ``wa`` (the oldest)
    waits for its host, and ``wb`` of the same repository merges meanwhile."""
    await register_orchestrator(client, "o2", "/srv/shared")
    clock.advance(400)
    await reap_orchestrators(services.runtime)  # o2 is offline
    await register_orchestrator(client, "o1", "/srv/shared")
    repo = "/srv/shared/repo"
    await make_workspace(client, "wa", repo=repo, orchestratorId="o2", metadata={"autoMerge": True})
    clock.advance(1)
    await make_workspace(client, "wb", repo=repo, orchestratorId="o1", metadata={"autoMerge": True})
    for _ in range(3):
        run = await client.post("/api/maintenance/jobs/auto-merge/run", headers=H)
        assert run.status_code == 200, await run.get_data()
    assert (await get_ws(client, "wa"))["status"] == "ready"
    assert (await get_ws(client, "wb"))["status"] == "merge_planned"
    assert [lease["workspaceId"] for lease in await leases(client)] == ["wb"]


# -- 4. an expired lease taken over by the next merge is audited -------------------------------


async def test_a_lease_expired_by_the_next_merge_is_audited_like_one_the_job_expires(
    client: Any, clock: ManualClock
) -> None:
    """A lease past its TTL is released by the merge-lease-expiry job, or by the next merge
    of the repository if that comes first: audited "Merge lease expired" either way."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, "w1")
    await make_workspace(client, "w2")
    assert (await action(client, "w1", action="merge")).status_code == 202
    clock.advance(901)
    await client.post(  # keep o1 online for the second merge
        "/api/orchestrators/o1/heartbeat", json={}, headers=H
    )
    assert (await action(client, "w2", action="merge")).status_code == 202
    w1 = await get_ws(client, "w1")
    assert w1["status"] == "ready"
    assert w1["metadata"]["mergeError"] == "merge lease expired before the merge settled"
    assert "Merge lease expired" in await titles(client)


# -- 5. a conflict reported mid-merge does not hide a merge that succeeded ---------------------


async def test_a_merge_that_succeeded_is_not_left_recorded_as_a_conflict(client: Any) -> None:
    """``conflict-found`` is allowed while the merge command holds the lease; if the host
    then merges after all and reports ``succeeded``, the branch is in the repository: the
    record says ``merged``, with the result, not ``conflict`` (mergeable again)."""
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client, "w1")
    command = (await (await action(client, "w1", action="merge")).get_json())["command"]
    assert (await action(client, "w1", action="conflict-found")).status_code == 200
    settled = await patch_command(
        client, command["id"], "succeeded", headers=bearer(token), result={"headSha": "abc"}
    )
    assert settled.status_code == 200
    ws = await get_ws(client, "w1")
    assert ws["status"] == "merged"
    assert ws["metadata"]["mergeResult"] == {"headSha": "abc"}
    assert ws["repoRoot"] == REPO


async def test_a_cleanup_command_that_was_queued_leaves_the_workspace_cleanup_requested(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for a cleanup stored though its caller got 503: the workspace stays
    ``cleanup_requested``, and the host's success moves it to ``cleaned`` (not back to
    ``ready``, a record of a worktree that is gone, still offered to merge)."""
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client, "w1")
    registry = services.runtime.registry
    ask = registry.ask

    async def queued_then_timed_out(kind: str, key: str, message: Any, **kwargs: Any) -> Any:
        reply = await ask(kind, key, message, **kwargs)
        if isinstance(message, Enqueue) and message.spec.type == "workspace.cleanup":
            raise Unavailable("orchestrator actor timed out")
        return reply

    monkeypatch.setattr(registry, "ask", queued_then_timed_out)
    response = await action(client, "w1", action="cleanup")
    monkeypatch.setattr(registry, "ask", ask)
    assert response.status_code == 503
    listing = await (await client.get("/api/commands?target=o1", headers=H)).get_json()
    [command] = [c for c in listing if c["type"] == "workspace.cleanup" and c["status"] in OPEN]
    assert (await get_ws(client, "w1"))["status"] == "cleanup_requested"
    settled = await patch_command(client, command["id"], "succeeded", headers=bearer(token))
    assert settled.status_code == 200
    assert (await get_ws(client, "w1"))["status"] == "cleaned"


async def test_a_merge_answered_503_then_force_released_is_not_left_merge_planned_forever(
    client: Any, clock: ManualClock, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge answered 503 keeps its lease, as its command may be stored. Here it was not,
    and an admin force-releases the lease (DELETE /api/merge-leases): the workspace is
    restored as if the merge had never been queued, not left merge_planned with nothing
    (no lease, no command, no job) ever to move it again."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, "w1")
    registry = services.runtime.registry
    ask = registry.ask

    async def enqueue_never_arrives(kind: str, key: str, message: Any, **kwargs: Any) -> Any:
        if isinstance(message, Enqueue) and message.spec.type == "workspace.merge":
            raise Unavailable("orchestrator actor timed out")  # nothing stored
        return await ask(kind, key, message, **kwargs)

    monkeypatch.setattr(registry, "ask", enqueue_never_arrives)
    assert (await action(client, "w1", action="merge")).status_code == 503
    monkeypatch.setattr(registry, "ask", ask)
    assert (await get_ws(client, "w1"))["status"] == "merge_planned"

    released = await client.delete(f"/api/merge-leases?repoRoot={REPO}", headers=H)
    assert released.status_code == 200, await released.get_data()
    assert await leases(client) == []

    # Well past the lease's and any command's TTL; every relevant job has run.
    clock.advance(3600 * 1000)
    await client.post("/api/orchestrators/o1/heartbeat", json={}, headers=H)
    await run_jobs(client)

    assert (await get_ws(client, "w1"))["status"] != "merge_planned"
    again = await action(client, "w1", action="merge")
    assert again.status_code == 202, await again.get_data()


async def test_a_merge_that_succeeded_after_conflict_then_review_is_not_left_waiting(
    client: Any,
) -> None:
    """conflict-found, then request-review (allowed from conflict while the merge still
    holds the lease), then the same merge succeeds: the branch is in the repository, so
    the record is merged, not review_requested and waiting in the merge queue."""
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client, "w1")
    command = (await (await action(client, "w1", action="merge")).get_json())["command"]
    assert (await action(client, "w1", action="conflict-found")).status_code == 200
    assert (await action(client, "w1", action="request-review")).status_code == 200
    settled = await patch_command(
        client, command["id"], "succeeded", headers=bearer(token), result={"headSha": "abc"}
    )
    assert settled.status_code == 200
    ws = await get_ws(client, "w1")
    assert ws["status"] == "merged"
    assert ws["metadata"].get("mergeResult") == {"headSha": "abc"}
    queue = await (await client.get("/api/merge-queue", headers=H)).get_json()
    assert [w["id"] for entry in queue for w in entry["waiting"]] == []
