"""The maintenance aggregate: the MaintenanceActor that keeps the schedule's ledger,
and the relay-wide housekeeping jobs.
"""

from relay.actors.maintenance.actor import MaintenanceActor
from relay.actors.maintenance.install import install
from relay.actors.maintenance.ledger import ActorJobLedger
from relay.actors.maintenance.messages import (
    KEY,
    KIND,
    Abandon,
    Begin,
    Finish,
    Snapshot,
)

__all__ = [
    "KEY",
    "KIND",
    "Abandon",
    "ActorJobLedger",
    "Begin",
    "Finish",
    "MaintenanceActor",
    "Snapshot",
    "install",
]
