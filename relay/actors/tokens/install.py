"""How token issuing plugs into the runtime: the pruning of expired records."""

from __future__ import annotations

from relay.actors.runtime import JobSpec, Runtime
from relay.actors.tokens.issuing import token_pruning


def install(runtime: Runtime) -> None:
    """The token-pruning job."""
    runtime.maintenance.register_job(
        JobSpec("token-pruning", runtime.settings.job_token_pruning_seconds, token_pruning)
    )
