"""The per-hour cap (maxPerHour) holds across a restart of the relay (or an idle stop of
the automations' actor), however many skipped runs came after the counted ones."""

from __future__ import annotations

from typing import Any

from relay.clock import ManualClock
from tests.http.helpers import H
from tests.http.integration_setup import agent, inbox_bodies, message_to


async def _run(client: Any, automation_id: str) -> str:
    response = await client.post(f"/api/automations/{automation_id}/run", headers=H)
    assert response.status_code == 200, await response.get_data()
    status: str = (await response.get_json())["status"]
    return status


async def test_the_hourly_cap_survives_a_restart_after_skipped_runs(
    open_app: Any, clock: ManualClock
) -> None:
    """maxPerHour 2, RELAY_AUTOMATION_DISPATCH_KEEP 3: two runs succeed, three more are
    skipped. After a restart, within the same hour, the next run is still skipped; the
    dispatches list still shows the newest 3. An hour after the two runs, it runs again."""
    async with open_app(automation_dispatch_keep=3) as started:
        client = started.test_client()
        await agent(client, "a1")
        body = {
            "name": "capped",
            "trigger": {"type": "schedule", "everySeconds": 3600},
            "action": message_to("a1", "x"),
            "maxPerHour": 2,
        }
        response = await client.post("/api/automations", json=body, headers=H)
        assert response.status_code == 201, await response.get_data()
        automation_id = (await response.get_json())["id"]
        statuses = [await _run(client, automation_id) for _ in range(5)]
        assert statuses == ["succeeded", "succeeded", "skipped", "skipped", "skipped"]
    async with open_app(automation_dispatch_keep=3) as started:
        client = started.test_client()
        assert await _run(client, automation_id) == "skipped"
        assert await inbox_bodies(client, "a1") == ["x", "x"]
        url = f"/api/automations/{automation_id}/dispatches"
        listed = await (await client.get(url, headers=H)).get_json()
        assert [d["status"] for d in listed] == ["skipped"] * 3
        clock.advance(3600)
        assert await _run(client, automation_id) == "succeeded"
