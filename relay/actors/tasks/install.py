"""How the task aggregate plugs into the runtime (its job and start-up are ``tasking``'s,
which tells creators what the expiries did)."""

from __future__ import annotations

from relay.actors.runtime import Runtime
from relay.actors.tasks.actor import TaskBoardActor
from relay.actors.tasks.messages import KIND


def install(runtime: Runtime) -> None:
    """One TaskBoardActor (key ``board``) holding every open task."""
    runtime.registry.register_kind(KIND, lambda key: TaskBoardActor.start(key, runtime))
