"""Tasking: the task use cases over the board (``tasks``), messaging (a creator's
notices) and waking (a preferred agent), on a layer above all three."""

from relay.actors.tasking.flows import (
    RELAY,
    cancel,
    claim,
    create,
    edit,
    renew,
    report,
    requeue,
    task_lease_expiry,
    tell,
)
from relay.actors.tasking.install import install

__all__ = [
    "RELAY",
    "cancel",
    "claim",
    "create",
    "edit",
    "install",
    "renew",
    "report",
    "requeue",
    "task_lease_expiry",
    "tell",
]
