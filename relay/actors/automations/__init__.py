"""Automations: an integration event or a schedule makes the relay create a task, post a
message or spawn an agent, as ``automation:<id>``, at most ``maxPerHour`` times an hour."""

from relay.actors.automations.actions import spawn_resource, templated_spawn_fields
from relay.actors.automations.flows import (
    automation_schedule,
    create,
    delete,
    dispatch,
    dispatch_event,
    dispatches,
    dispatches_of_event,
    enabled_among,
    get,
    list_all,
    triggered_by_event,
    update,
)
from relay.actors.automations.install import install

__all__ = [
    "automation_schedule",
    "create",
    "delete",
    "dispatch",
    "dispatch_event",
    "dispatches",
    "dispatches_of_event",
    "enabled_among",
    "get",
    "install",
    "list_all",
    "spawn_resource",
    "templated_spawn_fields",
    "triggered_by_event",
    "update",
]
