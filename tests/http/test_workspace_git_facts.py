"""The daemon's git facts reach the workspace's metadata.git: at creation and on reconcile."""

from __future__ import annotations

from typing import Any

from tests.http.helpers import register_orchestrator
from tests.http.test_workspaces import get_ws, make_workspace, reconcile

FACTS = {
    "ahead": 3,
    "behind": 0,
    "changedFiles": ["src/a.py"],
    "changedFilesTotal": 1,
    "dirty": True,
    "checkedAt": 1_700_000_000_000,
}


async def test_the_created_workspace_carries_its_facts(client: Any) -> None:
    created = await make_workspace(client, status="active", metadata={"git": FACTS})
    assert created["metadata"]["git"] == FACTS


async def test_a_reconcile_replaces_the_facts(client: Any) -> None:
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    await make_workspace(client, status="active", metadata={"git": {**FACTS, "ahead": 0}})
    await reconcile(client, token, {"workspaceId": "w1", "status": "ready", "git": FACTS})
    ws = await get_ws(client, "w1")
    assert (ws["status"], ws["metadata"]["git"]) == ("ready", FACTS)
    assert "git" not in ws["metadata"]["reconcileResult"]


async def test_a_workspace_under_review_gets_the_facts_and_keeps_its_place(client: Any) -> None:
    token = (await register_orchestrator(client, "o1", "/srv/o1"))["token"]
    before = await make_workspace(client, status="review_requested")
    await reconcile(client, token, {"workspaceId": "w1", "status": "ready", "git": FACTS})
    ws = await get_ws(client, "w1")
    assert (ws["status"], ws["metadata"]["git"]) == ("review_requested", FACTS)
    assert ws["updatedAt"] == before["updatedAt"]
