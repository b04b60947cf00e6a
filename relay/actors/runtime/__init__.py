"""What every aggregate uses: the runtime, the bridge, the registry, the aggregate base,
doorbells, routing, settle hooks, the audit trail and the maintenance schedule.

Nothing here knows any aggregate: an aggregate package depends on this one, never the
other way round. ``relay.actors.open_runtime`` assembles the relay's aggregates with it.
"""

from relay.actors.runtime.aggregate import AggregateActor, Sweep
from relay.actors.runtime.audit import Change, audit, record, write_audited, write_with_audit
from relay.actors.runtime.bridge import Ask, Durable, Refusal, RelayActor, ask
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.dispatch import dispatchmethod
from relay.actors.runtime.jobs import JobFunction, JobSpec
from relay.actors.runtime.lifecycle import Install, assemble, running
from relay.actors.runtime.reaping import presence_after_silence, reap
from relay.actors.runtime.registry import ActorRegistry, Passivate, passivate
from relay.actors.runtime.schedule import JobLedger, Maintenance
from relay.actors.runtime.settle import SettleHooks

__all__ = [
    "ActorRegistry",
    "AggregateActor",
    "Ask",
    "Change",
    "Durable",
    "Install",
    "JobFunction",
    "JobLedger",
    "JobSpec",
    "Maintenance",
    "Passivate",
    "Refusal",
    "RelayActor",
    "Runtime",
    "SettleHooks",
    "Sweep",
    "ask",
    "assemble",
    "audit",
    "dispatchmethod",
    "passivate",
    "presence_after_silence",
    "reap",
    "record",
    "running",
    "write_audited",
    "write_with_audit",
]
