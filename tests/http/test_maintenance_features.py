"""The feature jobs are registered and run through the maintenance API."""

from __future__ import annotations

from typing import Any

import pytest

from relay.clock import ManualClock
from tests.http.helpers import H, create_command, register_orchestrator

FEATURE_JOBS = [
    "orchestrator-reaper",
    "command-expiry",
    "merge-lease-expiry",
    "auto-merge",
    "workspace-purge",
    "stream-retention",
]


async def test_every_job_is_listed(client: Any) -> None:
    jobs = await (await client.get("/api/maintenance/jobs", headers=H)).get_json()
    names = {job["name"] for job in jobs}
    assert set(FEATURE_JOBS) <= names
    assert {"agent-reaper", "activity-retention", "token-pruning"} <= names


@pytest.mark.parametrize("name", FEATURE_JOBS)
async def test_feature_job_runs_now(client: Any, name: str) -> None:
    response = await client.post(f"/api/maintenance/jobs/{name}/run", headers=H)
    assert response.status_code == 200
    body = await response.get_json()
    assert "error" not in body or body["error"] is None, body


async def test_command_expiry_job_expires_commands(client: Any, clock: ManualClock) -> None:
    await register_orchestrator(client)
    command = await create_command(client, ttlSeconds=5)
    clock.advance(6)
    response = await client.post("/api/maintenance/jobs/command-expiry/run", headers=H)
    assert (await response.get_json())["result"]["expired"] == 1
    got = await (await client.get(f"/api/commands/{command['id']}", headers=H)).get_json()
    assert got["status"] == "expired"
