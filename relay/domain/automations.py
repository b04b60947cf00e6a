"""Automations: what an integration event or a schedule makes the relay do, and the
record of each time it did (spec tasks.md, "Automations")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

JSON = dict[str, Any]

DispatchTrigger = Literal["event", "schedule", "manual"]
DispatchStatus = Literal["succeeded", "failed", "skipped"]

RATE_LIMITED = "automation rate limit reached"
# What maxPerHour counts over: the runs (skipped ones aside) of the last 60 minutes.
CAP_WINDOW_MS = 3_600_000


def new_automation_id() -> str:
    return f"au_{uuid.uuid4().hex}"


def new_dispatch_id() -> str:
    return f"ad_{uuid.uuid4().hex}"


def identity(automation_id: str) -> str:
    """The sub its actions run as: messages are from it, tasks created by it."""
    return f"automation:{automation_id}"


@dataclass(frozen=True, slots=True)
class Automation:
    id: str
    name: str
    enabled: bool
    trigger: JSON  # {type: event, eventType, integration?, filter?} | {type: schedule, …}
    action: JSON  # {type: create_task | post_message | spawn_agent, …}
    max_per_hour: int
    version: int
    next_run_at: int | None
    created_by: str
    created_at: int
    updated_at: int

    @property
    def every_ms(self) -> int | None:
        """A schedule's period in ms; None for an event trigger."""
        if self.trigger.get("type") != "schedule":
            return None
        return int(self.trigger["everySeconds"]) * 1000

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "enabled": self.enabled,
            "trigger": self.trigger,
            "action": self.action,
            "maxPerHour": self.max_per_hour,
            "version": self.version,
            "nextRunAt": self.next_run_at,
            "createdBy": self.created_by,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class AutomationChanges:
    """A PATCH: None fields are left as they are."""

    name: str | None = None
    enabled: bool | None = None
    trigger: JSON | None = None
    action: JSON | None = None
    max_per_hour: int | None = None


@dataclass(frozen=True, slots=True)
class DispatchResult:
    """``AutomationDispatchResult``: one run of an automation, whatever its outcome."""

    id: str
    automation_id: str
    trigger: DispatchTrigger
    event_id: str | None
    status: DispatchStatus
    result: JSON | None
    error: str | None
    at: int

    def to_json(self) -> JSON:
        data: JSON = {
            "id": self.id,
            "automationId": self.automation_id,
            "trigger": self.trigger,
            "status": self.status,
            "at": self.at,
        }
        if self.event_id is not None:
            data["eventId"] = self.event_id
        if self.result is not None:
            data["result"] = self.result
        if self.error is not None:
            data["error"] = self.error
        return data
