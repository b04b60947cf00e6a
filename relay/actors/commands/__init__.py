"""The command channel: the queue each target's actor owns (``TargetActor``), its
messages and rules, and the flows that create, hand out, settle and expire commands.
"""

from relay.actors.commands.flows import (
    EFFECTS_GRACE_MS,
    apply_missed_effects,
    command_expiry,
    create,
    expire_and_redeliver,
    load,
    resolve_target,
    take,
    update,
)
from relay.actors.commands.install import install
from relay.actors.commands.messages import (
    QUEUE_MESSAGES,
    Enqueue,
    ExpireDue,
    Handout,
    Poll,
    UpdateStatus,
)
from relay.actors.commands.target import TargetActor

__all__ = [
    "EFFECTS_GRACE_MS",
    "QUEUE_MESSAGES",
    "Enqueue",
    "ExpireDue",
    "Handout",
    "Poll",
    "TargetActor",
    "UpdateStatus",
    "apply_missed_effects",
    "command_expiry",
    "create",
    "expire_and_redeliver",
    "install",
    "load",
    "resolve_target",
    "take",
    "update",
]
