"""The task aggregate: one TaskBoardActor holding every open task, so a claim picks and
marks a task at once; the state table in ``rules``."""

from relay.actors.tasks.actor import AUDIT_VIEW, TaskBoardActor
from relay.actors.tasks.flows import (
    apply_due,
    cancel,
    claim,
    create,
    creator_of,
    edit,
    list_tasks,
    may_manage,
    read,
    renew,
    report,
    requeue,
)
from relay.actors.tasks.install import install
from relay.actors.tasks.messages import BOARD, KIND, Decided, Notice
from relay.actors.tasks.rules import notice_text

__all__ = [
    "AUDIT_VIEW",
    "BOARD",
    "KIND",
    "Decided",
    "Notice",
    "TaskBoardActor",
    "apply_due",
    "cancel",
    "claim",
    "create",
    "creator_of",
    "edit",
    "install",
    "list_tasks",
    "may_manage",
    "notice_text",
    "read",
    "renew",
    "report",
    "requeue",
]
