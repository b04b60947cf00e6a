"""A schedule whose result the store could not keep costs the other due schedules
nothing: they run in the same job. Its own period is put back and run by the next job, as
the same run (its message is not posted twice)."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors import automations
from relay.clock import ManualClock
from relay.store import automations as automation_store
from tests.http.integration_setup import (
    dispatches,
    fail_dispatch_records_of,
    inbox_bodies,
    two_due_schedules,
)


async def test_one_schedules_unkept_result_does_not_cost_the_other_due_schedules_their_run(
    client: Any, clock: ManualClock, services: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two schedules are due; keeping the first one's result fails (a store blip). The job
    still runs the second, and reports the first as unkept. The next job, on a healthy
    store, runs the first one's period again: its result is kept, its message posted once."""
    ids = await two_due_schedules(client, clock)
    real = fail_dispatch_records_of(monkeypatch, ids["a-first"])
    first_job = await automations.automation_schedule(services.runtime)
    assert (first_job["succeeded"], first_job["unkept"]) == (1, 1)
    assert [d["status"] for d in await dispatches(client, ids["b-second"])] == ["succeeded"]
    assert sorted(await inbox_bodies(client, "a1")) == ["a-first", "b-second"]

    monkeypatch.setattr(automation_store, "insert_dispatch", real)
    second_job = await automations.automation_schedule(services.runtime)
    assert (second_job["succeeded"], second_job["unkept"]) == (1, 0)
    assert [d["status"] for d in await dispatches(client, ids["a-first"])] == ["succeeded"]
    assert [d["status"] for d in await dispatches(client, ids["b-second"])] == ["succeeded"]
    assert sorted(await inbox_bodies(client, "a1")) == ["a-first", "b-second"]
    # Then the schedules go on from now, one period on.
    assert (await automations.automation_schedule(services.runtime))["dispatched"] == 0
    clock.advance(60)
    assert (await automations.automation_schedule(services.runtime))["dispatched"] == 2
