"""How the inbox aggregate plugs into the runtime."""

from __future__ import annotations

from relay.actors.inbox.actor import InboxActor
from relay.actors.inbox.flows import inbox_lease_expiry, message_expiry, message_retention
from relay.actors.inbox.messages import KIND
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    """One InboxActor per agent; the lease-expiry, message-expiry and retention jobs."""
    runtime.registry.register_kind(KIND, lambda key: InboxActor.start(key, runtime), pooled=True)
    settings = runtime.settings
    for spec in (
        JobSpec("inbox-lease-expiry", settings.job_inbox_lease_expiry_seconds, inbox_lease_expiry),
        JobSpec("message-expiry", settings.job_message_expiry_seconds, message_expiry),
        JobSpec("message-retention", settings.job_message_retention_seconds, message_retention),
    ):
        runtime.maintenance.register_job(spec)
