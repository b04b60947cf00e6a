"""GET /api/merge-queue: per repository, the lease holder and who waits, oldest first."""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.test_workspaces import action, make_workspace

A = "/srv/o1/a"
B = "/srv/o1/b"
C = "/srv/o2/c"


async def queue(client: Any, headers: Any = None) -> list[dict[str, Any]]:
    response = await client.get("/api/merge-queue", headers=headers or H)
    assert response.status_code == 200, await response.get_data()
    body: list[dict[str, Any]] = await response.get_json()
    return body


def summary(entries: list[dict[str, Any]]) -> list[tuple[str, str | None, list[str]]]:
    return [
        (
            entry["repoRoot"],
            entry["lease"]["workspaceId"] if entry["lease"] else None,
            [ws["id"] for ws in entry["waiting"]],
        )
        for entry in entries
    ]


async def test_an_empty_relay_has_an_empty_queue(client: Any) -> None:
    assert await queue(client) == []


async def test_one_entry_per_repo_with_a_lease_or_a_waiting_workspace(
    client: Any, clock: ManualClock
) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    for workspace_id, repo, status in (
        ("b-late", B, "ready"),
        ("a-review", A, "review_requested"),
        ("a-active", A, "active"),
        ("a-merged", A, "merged"),
        ("a-ready", A, "ready"),
        ("c-abandoned", C, "abandoned"),
    ):
        clock.advance(1)
        await make_workspace(client, workspace_id, repo=repo, status=status)
    clock.advance(1)
    merging = await action(client, "a-ready", action="merge")
    assert merging.status_code == 202
    entries = await queue(client)
    # a-ready holds A's lease (merge_planned: no longer waiting); C has nothing waiting.
    assert summary(entries) == [(A, "a-ready", ["a-review"]), (B, None, ["b-late"])]
    lease = entries[0]["lease"]
    assert lease["commandId"] == (await merging.get_json())["command"]["id"]
    assert entries[0]["waiting"][0]["status"] == "review_requested"


async def test_waiting_is_oldest_update_first(client: Any, clock: ManualClock) -> None:
    for workspace_id in ("w1", "w2", "w3"):
        clock.advance(1)
        await make_workspace(client, workspace_id, repo=A)
    clock.advance(1)
    assert (await action(client, "w1", action="request-review")).status_code == 200
    assert summary(await queue(client)) == [(A, None, ["w2", "w3", "w1"])]


async def test_a_constrained_token_sees_only_its_own_repos(client: Any, mint: Any) -> None:
    await register_orchestrator(client, "o1", "/srv/o1")
    await make_workspace(client, "mine", repo=A)
    await make_workspace(client, "theirs", repo=C)
    assert (await action(client, "mine", action="merge")).status_code == 202
    await make_workspace(client, "mine-2", repo=A)
    token = bearer(mint(["command:read"], {"cwd": ["/srv/o2"]}))
    assert summary(await queue(client, token)) == [(C, None, ["theirs"])]
    token = bearer(mint(["command:read"], {"cwd": ["/srv/o1"]}))
    assert summary(await queue(client, token)) == [(A, "mine", ["mine-2"])]


async def test_the_merge_queue_needs_command_read(client: Any, mint: Any) -> None:
    assert (await client.get("/api/merge-queue")).status_code == 401
    response = await client.get("/api/merge-queue", headers=bearer(mint(["agent:read"])))
    assert response.status_code == 403
