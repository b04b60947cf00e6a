"""The JSON shapes the automation routes return (documentation only, as ``responses``)."""

from __future__ import annotations

from typing import Literal

from relay.http.responses import JSONObject, Shape


class Automation(Shape):
    id: str
    name: str
    enabled: bool
    trigger: JSONObject
    action: JSONObject
    max_per_hour: int
    version: int
    next_run_at: int | None
    created_by: str
    created_at: int
    updated_at: int


class DispatchResult(Shape):
    """``AutomationDispatchResult``."""

    id: str
    automation_id: str
    trigger: Literal["event", "schedule", "manual"]
    event_id: str | None = None
    status: Literal["succeeded", "failed", "skipped"]
    result: JSONObject | None = None
    error: str | None = None
    at: int
