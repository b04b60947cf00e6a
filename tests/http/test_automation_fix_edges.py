"""Edges of automation runs: a schedule's period run again after its result was not kept,
and the activity rows of a spawning automation a caller may not read."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors import automations
from relay.clock import ManualClock
from relay.store import automations as automation_store
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.integration_setup import agent, dispatches, fail_dispatch_records_of, inbox_bodies
from tests.http.sse_client import open_stream, until_end


async def test_a_put_back_schedule_period_templating_now_reruns_as_the_same_run(
    client: Any, clock: ManualClock, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A schedule posts "report {{now}}". Its result cannot be kept (a store blip), so its
    period is put back; the next job (5 s later) runs the period again under the same
    once-key. The message was posted the first time: the rerun names it (succeeded, one
    message), though ``now`` renders otherwise, not a failure for a reused
    clientMessageId."""
    await agent(client, "a1")
    body = {
        "name": "report",
        "trigger": {"type": "schedule", "everySeconds": 60},
        "action": {"type": "post_message", "to": "a1", "body": "report {{now}}"},
    }
    response = await client.post("/api/automations", json=body, headers=H)
    assert response.status_code == 201, await response.get_data()
    automation_id = (await response.get_json())["id"]
    clock.advance(60)

    real = fail_dispatch_records_of(monkeypatch, automation_id)
    first = await automations.automation_schedule(services.runtime)
    assert first["unkept"] == 1
    [posted] = await inbox_bodies(client, "a1")

    monkeypatch.setattr(automation_store, "insert_dispatch", real)
    clock.advance(5)
    second = await automations.automation_schedule(services.runtime)
    assert second["dispatched"] == 1
    [kept] = await dispatches(client, automation_id)
    assert (kept["status"], kept.get("error")) == ("succeeded", None), kept
    assert await inbox_bodies(client, "a1") == [posted]


async def test_a_hidden_spawning_automation_is_not_shown_in_the_activity_feed(
    client: Any, mint: Any
) -> None:
    """A token limited to host o1 (policy p1) may not list, read or read the dispatches of
    the operator's automation that spawns on o2 by p2 (403). The activity feed, read with
    the same token's config:read and activity:read, must not hand it that automation
    either: not its save (its name and id), nor its failed dispatch (its error and
    result). Its rows are the host's it spawns on."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    # A policy the spawn route refuses (unknown provider): each run fails, audited.
    policy = {"value": {"provider": "vim", "cwd": "/srv/o2/work"}}
    put = await client.put("/api/config/spawn-policies/p2", json=policy, headers=H)
    assert put.status_code in (200, 201), await put.get_data()
    limited = bearer(
        mint(
            ["config:read", "config:write", "command:write", "activity:read"],
            {"orchestrators": ["o1"], "policyNames": ["p1"]},
            sub="ops-o1",
            role="dashboard",
        )
    )
    body = {
        "name": "o2-secret-nightly",
        "trigger": {"type": "schedule", "everySeconds": 3600},
        "action": {"type": "spawn_agent", "orchestratorId": "o2", "policyName": "p2"},
    }
    response = await client.post("/api/automations", json=body, headers=H)
    assert response.status_code == 201, await response.get_data()
    automation_id = (await response.get_json())["id"]
    ran = await client.post(f"/api/automations/{automation_id}/run", headers=H)
    assert (await ran.get_json())["status"] == "failed"
    hidden = await client.get(f"/api/automations/{automation_id}", headers=limited)
    assert hidden.status_code == 403

    feed = await client.get("/api/activity?limit=1000", headers=limited)
    assert feed.status_code == 200, await feed.get_data()
    leaked = [
        row["title"]
        for row in await feed.get_json()
        if automation_id in str(row) or "o2-secret-nightly" in str(row)
    ]
    assert leaked == []


async def test_a_hidden_spawning_automations_dispatch_is_not_streamed(
    client: Any, mint: Any
) -> None:
    """The stream judges a spawning automation's ``automation`` (dispatched) events as its
    routes judge reading it: a token limited to host o1 (policy p1) is streamed o1's
    dispatch, not o2's, whose automation it is refused (403)."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    for name, host in (("p1", "o1"), ("p2", "o2")):
        # An unknown provider: each run fails at once, queuing nothing.
        policy = {"value": {"provider": "vim", "cwd": f"/srv/{host}/work"}}
        put = await client.put(f"/api/config/spawn-policies/{name}", json=policy, headers=H)
        assert put.status_code in (200, 201), await put.get_data()
    limited = bearer(
        mint(
            ["config:read", "activity:read"],
            {"orchestrators": ["o1"], "policyNames": ["p1"]},
            sub="ops-o1",
            role="dashboard",
        )
    )
    ids = {}
    for name, host in (("p1", "o1"), ("p2", "o2")):
        body = {
            "name": f"{host}-nightly",
            "trigger": {"type": "schedule", "everySeconds": 3600},
            "action": {"type": "spawn_agent", "orchestratorId": host, "policyName": name},
        }
        response = await client.post("/api/automations", json=body, headers=H)
        assert response.status_code == 201, await response.get_data()
        ids[host] = (await response.get_json())["id"]
    async with open_stream(client, headers=limited) as stream:
        for host in ("o1", "o2"):
            ran = await client.post(f"/api/automations/{ids[host]}/run", headers=H)
            assert ran.status_code == 200, await ran.get_data()
        frames = await until_end(client, stream)
    streamed = [
        f.data["dispatch"]["automationId"]
        for f in frames
        if f.event == "automation" and f.data.get("change") == "dispatched"
    ]
    assert streamed == [ids["o1"]]
    assert (await client.get(f"/api/automations/{ids['o2']}", headers=limited)).status_code == 403
