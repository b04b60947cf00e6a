"""How the memory aggregate plugs into the runtime."""

from __future__ import annotations

from relay.actors.memory.actor import MemoryActor
from relay.actors.memory.flows import memory_rescan
from relay.actors.memory.messages import KIND
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    """One MemoryActor per memory; the ``memory-rescan`` job."""
    runtime.registry.register_kind(KIND, lambda key: MemoryActor.start(key, runtime), pooled=True)
    runtime.maintenance.register_job(
        JobSpec("memory-rescan", runtime.settings.job_memory_rescan_seconds, memory_rescan)
    )
