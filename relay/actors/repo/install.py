"""How the repo aggregate (workspaces and their merge lease) plugs into the runtime."""

from __future__ import annotations

from relay.actors.repo.actor import RepoActor
from relay.actors.repo.auto_merge import auto_merge
from relay.actors.repo.flows import (
    WORKSPACE_COMMANDS,
    expire_merge_leases,
    on_workspace_command_settled,
    purge_cleaned,
    release_unbound_leases,
)
from relay.actors.repo.messages import KIND
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    """One RepoActor per repository root; workspace commands' settle hooks; its jobs."""
    runtime.registry.register_kind(KIND, lambda key: RepoActor.start(key, runtime))
    for command_type in WORKSPACE_COMMANDS:
        runtime.settle_hooks.register(command_type, on_workspace_command_settled)
    # After the commands' recovery (installed before this one) has applied missed settles.
    runtime.recoveries.append(release_unbound_leases)
    settings = runtime.settings
    for spec in (
        JobSpec("merge-lease-expiry", settings.job_merge_lease_expiry_seconds, expire_merge_leases),
        JobSpec("auto-merge", settings.job_auto_merge_seconds, auto_merge),
        JobSpec("workspace-purge", settings.job_workspace_purge_seconds, purge_cleaned),
    ):
        runtime.maintenance.register_job(spec)
