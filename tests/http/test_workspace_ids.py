"""Issue 17, item 5: a workspace id is unique across repositories, decided by its owner
(the id index), with the database's key as the backstop."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from relay.actors import repo, workspace_ids
from relay.domain.workspaces import Workspace
from relay.errors import Conflict
from relay.http.services import Services
from tests.http.helpers import H, register_orchestrator
from tests.http.sse_client import open_stream
from tests.http.test_workspaces import make_workspace
from tests.http.test_workspaces import reconcile as settle_reconcile

ONE = "/srv/o1/one"
TWO = "/srv/o1/two"
TAKEN = {"error": "workspace w1 already exists for another repository"}


async def post(client: Any, repo_root: str, workspace_id: str = "w1") -> Any:
    return await client.post(
        "/api/workspaces",
        json={"id": workspace_id, "repoRoot": repo_root, "worktreePath": f"{repo_root}/w"},
        headers=H,
    )


async def created_events(client: Any, stream: Any) -> list[Any]:
    """The ``workspace`` ``created`` events streamed before a marker posted now."""
    marker = await client.post("/api/activity", json={"title": "marker"}, headers=H)
    assert marker.status_code == 201
    events = []
    while True:
        frame = await stream.next_event()
        if frame.event == "activity" and frame.data.get("title") == "marker":
            break
        events.append(frame)
    return [e for e in events if e.event == "workspace" and e.data["change"] == "created"]


async def test_concurrent_creates_in_one_repo_stay_idempotent(client: Any) -> None:
    statuses: list[int] = []

    async def create() -> None:
        statuses.append((await post(client, ONE)).status_code)

    async with open_stream(client) as stream:
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(create)
        assert sorted(statuses) == [200, 200, 201]
        assert len(await created_events(client, stream)) == 1


async def test_the_index_decides_before_any_row_exists(client: Any, services: Services) -> None:
    rt = services.runtime
    # A create of w1 in ONE in flight: claimed, not yet recorded.
    assert await workspace_ids.claim(rt, "w1", ONE, stored_owner=None) is True
    assert await workspace_ids.claim(rt, "w1", ONE, stored_owner=None) is False
    response = await post(client, TWO)
    assert response.status_code == 409
    assert await response.get_json() == TAKEN
    # The create in ONE failed and gave its claim back: TWO may have the id now.
    await workspace_ids.release(rt, "w1", ONE)
    assert (await post(client, TWO)).status_code == 201


async def test_a_release_by_another_repository_frees_nothing(
    client: Any, services: Services
) -> None:
    assert (await post(client, ONE)).status_code == 201
    await workspace_ids.release(services.runtime, "w1", TWO)
    assert (await post(client, TWO)).status_code == 409


async def test_a_deleted_workspace_frees_its_id(client: Any) -> None:
    assert (await post(client, ONE)).status_code == 201
    assert (await post(client, TWO)).status_code == 409
    assert (await client.delete("/api/workspaces/w1", headers=H)).status_code == 200
    response = await post(client, TWO)
    assert response.status_code == 201
    assert (await response.get_json())["workspace"]["repoRoot"] == TWO


async def test_a_workspace_removed_by_reconcile_frees_its_id(client: Any) -> None:
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client, "w1", ONE, status="active")
    assert (await post(client, TWO)).status_code == 409
    await settle_reconcile(client, token, {"workspaceId": "w1", "status": "ready", "removed": True})
    assert (await post(client, TWO)).status_code == 201


async def test_the_index_loads_ids_it_has_not_seen_from_the_store(open_app: Any) -> None:
    async with open_app() as first:
        assert (await post(first.test_client(), ONE)).status_code == 201
    async with open_app() as restarted:  # a fresh index: w1 is only in the store
        response = await post(restarted.test_client(), TWO)
        assert response.status_code == 409
        assert await response.get_json() == TAKEN


async def test_the_database_key_is_the_backstop(client: Any, services: Services) -> None:
    """A create that bypasses the index (as another relay process's would) is still one id,
    one repository: 409 from the store, never a 500, and no ``created`` event."""
    assert (await post(client, ONE)).status_code == 201
    ws = Workspace(
        id="w1",
        agent_id=None,
        orchestrator_id=None,
        repo_root=TWO,
        source_cwd=TWO,
        worktree_path=f"{TWO}/w",
        branch=None,
        base_ref=None,
        base_sha=None,
        mode="isolated",
        status="active",
        metadata={},
        created_at=0,
        updated_at=0,
    )
    async with open_stream(client) as stream:
        with pytest.raises(Conflict) as refused:
            await services.runtime.registry.ask(repo.KIND, TWO, repo.CreateWorkspace(ws))
        assert refused.value.message == TAKEN["error"]
        assert await created_events(client, stream) == []
    listed = await (await client.get(f"/api/workspaces?repoRoot={TWO}", headers=H)).get_json()
    assert listed == []
