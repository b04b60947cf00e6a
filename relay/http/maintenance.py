"""Maintenance routes: list the jobs and their last runs, run one now.

Scopes: listing is read-only operational status, shown on the dashboard next to the
activity feed, so it takes ``activity:read``. Running a job now changes relay state
(reaps agents, deletes old rows) on an operator's say-so, like changing the relay's
configuration, so it takes ``config:write``, from a caller no constraint narrows: a job
acts on every owner's agents, workspaces and rows at once, which no constraint covers
(as the relay-wide config, ``allow_relay_wide``).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from relay.actors import maintenance
from relay.http import responses
from relay.http.auth import allow_relay_wide, requires
from relay.http.contract import responds
from relay.http.services import services

bp = Blueprint("maintenance", __name__)


@bp.get("/api/maintenance/jobs")
@responds(list[responses.JobState])
@requires("activity:read")
async def list_jobs() -> list[dict[str, Any]]:
    rt = services().runtime
    message = maintenance.Snapshot(rt.clock.now_ms())
    states = await rt.registry.ask(maintenance.KIND, maintenance.KEY, message)
    return [state.to_json() for state in states]


@bp.post("/api/maintenance/jobs/<name>/run")
@responds(responses.JobRun, errors=(409,))
@requires("config:write")
async def run_job(name: str) -> dict[str, Any]:
    """200 ``{job, result}``, or ``{job, error}`` when the job raised; 403 for a constrained
    caller; 404; 409 if running; 503 with ``Retry-After`` when the store did not answer
    the job (its run is recorded as failed all the same)."""
    allow_relay_wide()
    outcome = await services().runtime.maintenance.run_now(name)
    return outcome.to_json()
