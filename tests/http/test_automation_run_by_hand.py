"""A run by hand runs the version of the automation its caller was authorized for: one
changed between the check and the run is refused (409) and nothing runs."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors import automations
from relay.domain.automations import AutomationChanges
from tests.conftest import bearer
from tests.http.helpers import H, register_orchestrator
from tests.http.integration_setup import agent, inbox_bodies, message_to, save_automation


async def _spawn_commands(client: Any, target: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/commands?target={target}", headers=H)
    assert response.status_code == 200, await response.get_data()
    return [c for c in await response.get_json() if c["type"] == "agent.spawn"]


async def test_a_run_by_hand_refuses_an_automation_changed_since_its_check(
    client: Any, mint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token limited to host o1 may run a post_message automation by hand, but not spawn
    on o2. Re-pointed by an operator at a spawn on o2 between the route's check and the
    run, the run is refused with 409 and nothing is spawned; run again, the token is judged
    on the spawn (403)."""
    await register_orchestrator(client, "o1", "/srv/o1")
    await register_orchestrator(client, "o2", "/srv/o2")
    await agent(client, "a1")
    policy = {"value": {"provider": "claude", "cwd": "/srv/o2/work"}}
    put = await client.put("/api/config/spawn-policies/p2", json=policy, headers=H)
    assert put.status_code in (200, 201), await put.get_data()
    limited = bearer(
        mint(
            ["config:read", "config:write", "message:write", "command:write"],
            {"orchestrators": ["o1"]},
            sub="ops-o1",
            role="dashboard",
        )
    )
    spawn = {"provider": "claude", "cwd": "/srv/o2/work", "policyName": "p2"}
    direct = await client.post("/api/orchestrators/o2/spawn", json=spawn, headers=limited)
    assert direct.status_code == 403
    saved = await save_automation(client, "ping", message_to("a1", "ping"))
    url = f"/api/automations/{saved['id']}/run"
    real_dispatch = automations.dispatch

    async def changed_first(rt: Any, automation_id: str, *args: Any, **kw: Any) -> Any:
        action = {"type": "spawn_agent", "orchestratorId": "o2", "policyName": "p2"}
        await automations.update(rt, "root", automation_id, AutomationChanges(action=action), None)
        return await real_dispatch(rt, automation_id, *args, **kw)

    monkeypatch.setattr(automations, "dispatch", changed_first)
    ran = await client.post(url, headers=limited)
    assert ran.status_code == 409, await ran.get_data()
    assert "changed" in (await ran.get_json())["error"]
    assert await _spawn_commands(client, "o2") == []
    assert await inbox_bodies(client, "a1") == []

    monkeypatch.setattr(automations, "dispatch", real_dispatch)
    again = await client.post(url, headers=limited)
    assert again.status_code == 403, await again.get_data()
    assert await _spawn_commands(client, "o2") == []


async def test_a_run_by_hand_of_an_unchanged_automation_runs_it(client: Any) -> None:
    """Nothing changed between the check and the run: the run by hand succeeds."""
    await agent(client, "a1")
    saved = await save_automation(client, "ping", message_to("a1", "ping"))
    ran = await client.post(f"/api/automations/{saved['id']}/run", headers=H)
    assert ran.status_code == 200, await ran.get_data()
    assert (await ran.get_json())["status"] == "succeeded"
    assert await inbox_bodies(client, "a1") == ["ping"]
