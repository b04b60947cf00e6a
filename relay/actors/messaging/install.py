"""How messaging plugs into the runtime: its aggregates (``conversation`` and ``inbox``)
install themselves; messaging adds the repair of sends cut short before their deliveries."""

from __future__ import annotations

from relay.actors.messaging.repair import message_delivery_repair, repair_on_start
from relay.actors.runtime import JobSpec, Runtime


def install(runtime: Runtime) -> None:
    """The delivery repair: once at start-up, then as the ``message-delivery-repair`` job."""
    runtime.recoveries.append(repair_on_start)
    runtime.maintenance.register_job(
        JobSpec(
            "message-delivery-repair",
            runtime.settings.job_message_delivery_repair_seconds,
            message_delivery_repair,
        )
    )
