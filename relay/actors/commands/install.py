"""How the command channel plugs into the runtime.

The queues live in their targets' actors (``TargetActor``): this adds only the job that
expires commands, redelivers unacknowledged ones and recovers interrupted settles.
"""

from __future__ import annotations

from relay.actors.commands.flows import apply_effects_on_start, command_expiry
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    """The command-expiry job, and the settle effects a stop interrupted, run at start."""
    runtime.recoveries.append(apply_effects_on_start)
    runtime.maintenance.register_job(
        JobSpec("command-expiry", runtime.settings.job_command_expiry_seconds, command_expiry)
    )
