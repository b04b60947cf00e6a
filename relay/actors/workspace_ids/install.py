"""How the workspace id index plugs into the runtime."""

from __future__ import annotations

from relay.actors.runtime import Runtime
from relay.actors.workspace_ids.actor import WorkspaceIdsActor
from relay.actors.workspace_ids.messages import KIND


def install(runtime: Runtime) -> None:
    """One WorkspaceIdsActor for the relay (key ``KEY``)."""
    runtime.registry.register_kind(KIND, lambda key: WorkspaceIdsActor.start(key, runtime))
