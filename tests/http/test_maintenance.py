"""Maintenance routes, black-box through the test client, with the schedule running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from relay.actors.runtime import JobSpec
from relay.clock import ManualClock
from relay.http.app import create_app
from relay.http.services import EXTENSION, Services
from relay.settings import Settings
from relay.store import models
from tests.conftest import bearer, root_headers

H = root_headers()
JSON = dict[str, Any]


async def jobs(client: Any) -> dict[str, JSON]:
    response = await client.get("/api/maintenance/jobs", headers=H)
    assert response.status_code == 200
    return {job["name"]: job for job in await response.get_json()}


async def run(client: Any, name: str, headers: dict[str, str] = H) -> Any:
    return await client.post(f"/api/maintenance/jobs/{name}/run", headers=headers)


async def test_the_listing_shows_every_job_with_its_interval(
    client: Any, clock: ManualClock
) -> None:
    listed = await jobs(client)
    assert {"agent-reaper", "activity-retention", "token-pruning"} <= set(listed)
    assert listed["agent-reaper"] == {
        "name": "agent-reaper",
        "intervalSeconds": 10,
        "running": False,
        "lastRunAt": None,
        "durationMs": None,
        "result": None,
        "error": None,
        "nextRunAt": clock.now_ms() + 10_000,
    }


async def test_run_now_returns_the_result_and_updates_the_listing(
    client: Any, clock: ManualClock
) -> None:
    assert (await client.post("/api/agents", json={"id": "a1"}, headers=H)).status_code == 201
    clock.advance(31)  # past agent_stale_seconds
    response = await run(client, "agent-reaper")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["result"] == {"changed": 1}
    assert body["job"]["lastRunAt"] == clock.now_ms()
    assert body["job"]["nextRunAt"] == clock.now_ms() + 10_000
    assert (await jobs(client))["agent-reaper"] == body["job"]
    agent = await (await client.get("/api/agents/a1", headers=H)).get_json()
    assert agent["status"] == "stale"


async def test_an_unknown_job_is_404(client: Any) -> None:
    response = await run(client, "nope")
    assert response.status_code == 404
    assert await response.get_json() == {"error": "job not found"}


async def test_running_a_job_that_is_already_running_is_409(
    client: Any, services: Services
) -> None:
    entered, release = trio.Event(), trio.Event()

    async def held(_rt: Any) -> JSON:
        entered.set()
        await release.wait()
        return {"held": True}

    services.runtime.maintenance.register_job(JobSpec("held", 3600, held))
    responses: list[Any] = []

    async def first() -> None:
        responses.append(await run(client, "held"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        await entered.wait()
        assert (await jobs(client))["held"]["running"] is True
        second = await run(client, "held")
        assert second.status_code == 409
        assert await second.get_json() == {"error": "job held is already running"}
        release.set()
    assert responses[0].status_code == 200
    assert (await responses[0].get_json())["result"] == {"held": True}
    assert (await jobs(client))["held"]["running"] is False


async def test_a_job_that_raises_on_run_now_answers_200_with_its_error(
    client: Any, services: Services
) -> None:
    async def explode(_rt: Any) -> JSON:
        raise RuntimeError("disk on fire")

    services.runtime.maintenance.register_job(JobSpec("explode", 3600, explode))
    response = await run(client, "explode")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["error"] == "RuntimeError: disk on fire"
    assert "result" not in body
    assert "Traceback" not in str(body)
    listed = (await jobs(client))["explode"]
    assert listed["error"] == "RuntimeError: disk on fire"
    assert listed["result"] is None


async def test_a_failing_scheduled_job_keeps_running_and_is_audited(
    client: Any, services: Services
) -> None:
    calls = 0
    second_call = trio.Event()

    async def explode(_rt: Any) -> JSON:
        nonlocal calls
        calls += 1
        if calls == 2:
            second_call.set()
        raise RuntimeError("disk on fire")

    # Real time, a short interval: wait for the event that says it ran again, not a sleep.
    services.runtime.maintenance.register_job(JobSpec("explode", 0.01, explode))
    with trio.fail_after(10):
        await second_call.wait()
    # The first run was recorded (and audited before that) before the second began.
    assert (await jobs(client))["explode"]["error"] == "RuntimeError: disk on fire"
    response = await client.get("/api/activity?view=maintenance", headers=H)
    audited = await response.get_json()
    assert audited
    assert audited[-1]["kind"] == "maintenance"
    assert audited[-1]["title"] == "Maintenance job explode failed"
    assert audited[-1]["body"] == "RuntimeError: disk on fire"
    assert audited[-1]["icon"] == "ti-alert-triangle"
    assert audited[-1]["metadata"] == {"job": "explode", "error": "RuntimeError: disk on fire"}


async def test_activity_retention_deletes_only_old_events(client: Any, clock: ManualClock) -> None:
    old = await client.post("/api/activity", json={"title": "old"}, headers=H)
    assert old.status_code == 201
    clock.advance(31 * 86_400)
    new = await client.post("/api/activity", json={"title": "new"}, headers=H)
    assert new.status_code == 201
    response = await run(client, "activity-retention")
    assert (await response.get_json())["result"]["deleted"] == 1
    remaining = await (await client.get("/api/activity", headers=H)).get_json()
    assert [event["title"] for event in remaining] == ["new"]


async def test_token_pruning_forgets_only_what_can_no_longer_be_used(
    client: Any, services: Services, clock: ManualClock
) -> None:
    now, day = clock.now_ms(), 86_400_000

    async def seed() -> None:
        for jti, expires_at in (("gone", now - 1), ("kept", now + day), ("forever", None)):
            await models.TokenRevocation.create(jti=jti, revoked_at=now, expires_at=expires_at)
        for jti, expires_at in (("old", now - 31 * day), ("recent", now - 29 * day)):
            await models.TokenRecord.create(
                jti=jti, sub="s", role="provider", created_at=0, expires_at=expires_at
            )

    await services.runtime.store.write(seed)
    response = await run(client, "token-pruning")
    assert response.status_code == 200
    assert (await response.get_json())["result"] == {"deleted": 2}

    async def remaining() -> tuple[set[str], set[str]]:
        revocations = await models.TokenRevocation.all().values_list("jti", flat=True)
        records = await models.TokenRecord.all().values_list("jti", flat=True)
        return {str(jti) for jti in revocations}, {str(jti) for jti in records}

    assert await services.runtime.store.run(remaining) == ({"kept", "forever"}, {"recent"})


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("get", "/api/maintenance/jobs", "activity:read"),
        ("post", "/api/maintenance/jobs/token-pruning/run", "config:write"),
    ],
)
async def test_each_route_requires_its_scope(
    client: Any, mint: Any, method: str, path: str, scope: str
) -> None:
    assert (await getattr(client, method)(path)).status_code == 401
    other = "config:read"
    forbidden = await getattr(client, method)(path, headers=bearer(mint([other])))
    assert forbidden.status_code == 403
    allowed = await getattr(client, method)(path, headers=bearer(mint([scope])))
    assert allowed.status_code == 200


@asynccontextmanager
async def started(settings: Settings, clock: ManualClock) -> AsyncIterator[Any]:
    async with create_app(settings, clock=clock).test_app() as test_app:
        yield test_app


async def test_the_last_run_survives_a_restart(settings: Settings, clock: ManualClock) -> None:
    async with started(settings, clock) as first:
        response = await run(first.test_client(), "agent-reaper")
        ran = (await response.get_json())["job"]
    clock.advance(3)
    async with started(settings, clock) as second:
        services: Services = second.app.extensions[EXTENSION]
        assert services.runtime.maintenance.spec("agent-reaper")
        assert (await jobs(second.test_client()))["agent-reaper"] == ran
    assert ran["lastRunAt"] == clock.now_ms() - 3000
    assert ran["result"] == {"changed": 0}


async def test_a_constrained_caller_runs_no_job(client: Any, clock: ManualClock, mint: Any) -> None:
    """A job acts on every owner's agents at once: a token limited to one host, holding
    ``config:write``, may not run the reaper, which would mark another host's agent
    stale. 403, the job not run; the unconstrained holder still runs it."""
    assert (await client.post("/api/agents", json={"id": "a1"}, headers=H)).status_code == 201
    clock.advance(31)  # past agent_stale_seconds
    limited = bearer(mint(["config:write"], {"orchestrators": ["o1"]}, role="dashboard"))
    response = await run(client, "agent-reaper", limited)
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}
    assert (await jobs(client))["agent-reaper"]["lastRunAt"] is None
    agent = await (await client.get("/api/agents/a1", headers=H)).get_json()
    assert agent["status"] == "online"
    response = await run(client, "agent-reaper", bearer(mint(["config:write"])))
    assert response.status_code == 200
