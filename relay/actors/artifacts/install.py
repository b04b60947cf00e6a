"""How artifacts plug into the runtime: no actor (rows are immutable), one job."""

from __future__ import annotations

from relay.actors.artifacts.flows import artifact_gc
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    """The ``artifact-gc`` job: blobs no artifact names, past the grace period."""
    runtime.maintenance.register_job(
        JobSpec("artifact-gc", runtime.settings.job_artifact_gc_seconds, artifact_gc)
    )
