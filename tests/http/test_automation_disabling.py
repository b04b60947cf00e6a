"""Disabling an automation stops its runs from the moment the change is acknowledged, even
a run its schedule or an event had already picked it for (a run by hand still runs it)."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors import automations
from relay.clock import ManualClock
from relay.domain.automations import AutomationChanges
from tests.http.helpers import H
from tests.http.integration_setup import (  # noqa: F401  (app: the app with integration ci)
    agent,
    app,
    deliver,
    dispatches,
    inbox_bodies,
    message_to,
    save_automation,
    two_due_schedules,
)


async def test_a_schedule_disabled_while_the_job_runs_is_passed_over(
    client: Any, clock: ManualClock, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two schedules are due; while the job runs the first one's action, an operator
    disables the second (PATCH 200). The job passes the second over: no message, no
    dispatch result. Run by hand, the disabled automation still runs."""
    ids = await two_due_schedules(client, clock)

    real_run = automations.actions.run
    disabled: list[int] = []

    async def run_then_disable(rt: Any, automation: Any, action: Any, **kw: Any) -> Any:
        done = await real_run(rt, automation, action, **kw)
        if automation.id == ids["a-first"] and not disabled:
            url = f"/api/automations/{ids['b-second']}"
            patched = await client.patch(url, json={"enabled": False}, headers=H)
            disabled.append(patched.status_code)
        return done

    monkeypatch.setattr(automations.actions, "run", run_then_disable)
    await automations.automation_schedule(services.runtime)
    assert disabled == [200]
    assert await inbox_bodies(client, "a1") == ["a-first"]
    assert await dispatches(client, ids["b-second"]) == []

    by_hand = await client.post(f"/api/automations/{ids['b-second']}/run", headers=H)
    assert by_hand.status_code == 200, await by_hand.get_data()
    assert (await by_hand.get_json())["status"] == "succeeded"
    assert await inbox_bodies(client, "a1") == ["a-first", "b-second"]


async def test_an_automation_disabled_while_an_event_runs_another_is_passed_over(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One event triggers a-first and b-second, run in turn. b-second is disabled (the
    change committed) while a-first's action runs: the event runs a-first only, and its
    reply lists a-first's result only."""
    await agent(client, "a1")
    first = await save_automation(client, "a-first", message_to("a1", "first"))
    second = await save_automation(client, "b-second", message_to("a1", "second"))
    real_run = automations.actions.run

    async def run_then_disable(rt: Any, automation: Any, action: Any, **kw: Any) -> Any:
        done = await real_run(rt, automation, action, **kw)
        if automation.id == first["id"]:
            changes = AutomationChanges(enabled=False)
            await automations.update(rt, "root", second["id"], changes, None)
        return done

    monkeypatch.setattr(automations.actions, "run", run_then_disable)
    response = await deliver(client, "d-1")
    assert response.status_code == 201, await response.get_data()
    stored = await (await client.get(f"/api/automations/{second['id']}", headers=H)).get_json()
    assert stored["enabled"] is False
    assert await inbox_bodies(client, "a1") == ["first"]
    ran = [d["automationId"] for d in (await response.get_json())["dispatches"]]
    assert ran == [first["id"]]
    assert await dispatches(client, second["id"]) == []
