"""Maintenance: each job's last run, and the deletions of the retention jobs."""

from __future__ import annotations

from typing import Any

from relay.domain.maintenance import JobRun
from relay.store import models


def _run(row: models.MaintenanceRun) -> JobRun:
    return JobRun(
        name=row.name,
        last_run_at=row.last_run_at,
        duration_ms=row.duration_ms,
        result=dict(row.result) if row.result is not None else None,
        error=row.error,
        next_run_at=row.next_run_at,
    )


async def load_all() -> list[JobRun]:
    return [_run(row) for row in await models.MaintenanceRun.all().order_by("name")]


async def save(run: JobRun) -> None:
    """Insert or replace the job's row (write).

    Runs in the group-commit writer, one job at a time, so the update and the insert
    cannot interleave with another writer of this process; the primary key is the
    backstop across processes.
    """
    columns: dict[str, Any] = {
        "last_run_at": run.last_run_at,
        "duration_ms": run.duration_ms,
        "result": run.result,
        "error": run.error,
        "next_run_at": run.next_run_at,
    }
    if not await models.MaintenanceRun.filter(name=run.name).update(**columns):
        await models.MaintenanceRun.create(name=run.name, **columns)


async def delete_activity_before(cutoff_ms: int, *, limit: int) -> int:
    """Delete up to ``limit`` of the oldest activity events created before ``cutoff_ms`` (write).

    Bounded, so one call never holds the writer long: call again while it returns ``limit``.
    """
    ids = (
        await models.ActivityEvent.filter(created_at__lt=cutoff_ms)
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    if not ids:
        return 0
    return int(await models.ActivityEvent.filter(id__in=list(ids)).delete())
