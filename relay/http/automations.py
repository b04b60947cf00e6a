"""Automation routes (spec/tasks.md "Automations"): save, read, change, delete, run now,
and the kept dispatch results.

An automation runs as itself (``automation:<id>``) with every scope, later, with nobody
asked: saving, re-arming and running one by hand needs what its action needs of the caller
at the action's own route (``_allow_action``). A ``spawn_agent`` one, ``command:write``
covering its orchestrator, spawn policy and cwd, as the spawn route asks; those fields hold
no template, so the check covers every run."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, model_validator
from quart import Blueprint, request
from quart_schema import document_request

from relay.actors import automations
from relay.actors.messaging import resolve_sender
from relay.auth.access import own_agent
from relay.domain.automations import Automation, AutomationChanges
from relay.domain.messages import Importance
from relay.errors import Forbidden
from relay.http import automation_responses
from relay.http.auth import allow, can_see, principal, requires
from relay.http.contract import int_param, responds
from relay.http.services import services
from relay.http.tasks import CreateTaskBody
from relay.http.validation import Body, parse_body, query_int

bp = Blueprint("automations", __name__)

MAX_FILTERS = 20


class TriggerBody(Body):
    type: Literal["event", "schedule"]
    event_type: str | None = Field(default=None, min_length=1, max_length=100)
    integration: str | None = Field(default=None, min_length=1, max_length=100)
    filter: dict[str, Any] | None = None
    every_seconds: int | None = Field(default=None, ge=60, le=604_800)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.type == "event":
            if self.event_type is None:
                raise ValueError("trigger.eventType is required")
            if self.filter is not None and len(self.filter) > MAX_FILTERS:
                raise ValueError(f"trigger.filter must have at most {MAX_FILTERS} entries")
        elif self.every_seconds is None:
            raise ValueError("trigger.everySeconds is required")
        return self

    def stored(self) -> dict[str, Any]:
        if self.type == "schedule":
            return {"type": "schedule", "everySeconds": self.every_seconds}
        trigger: dict[str, Any] = {"type": "event", "eventType": self.event_type}
        if self.integration is not None:
            trigger["integration"] = self.integration
        if self.filter:
            trigger["filter"] = self.filter
        return trigger


class ActionBody(Body):
    type: Literal["create_task", "post_message", "spawn_agent"]
    task: CreateTaskBody | None = None
    to: str | None = Field(default=None, min_length=1, max_length=200)
    channel_id: str | None = Field(default=None, min_length=1, max_length=64)
    body: str | None = Field(default=None, min_length=1, max_length=65_536)
    importance: Importance | None = None
    ack_required: bool | None = None
    orchestrator_id: str | None = Field(default=None, min_length=1, max_length=200)
    policy_name: str | None = Field(default=None, min_length=1, max_length=200)
    cwd: str | None = Field(default=None, min_length=1, max_length=4096)
    label: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.type == "create_task" and self.task is None:
            raise ValueError("action.task is required")
        if self.type == "post_message":
            if (self.to is None) == (self.channel_id is None):
                raise ValueError("exactly one of action.to, action.channelId is required")
            if self.body is None:
                raise ValueError("action.body is required")
        if self.type == "spawn_agent":
            if self.orchestrator_id is None:
                raise ValueError("action.orchestratorId is required")
            if self.policy_name is None:
                raise ValueError("action.policyName is required")
            if automations.templated_spawn_fields(self.stored()):
                raise ValueError(
                    "action.orchestratorId, action.policyName and action.cwd of a "
                    "spawn_agent action cannot hold {{ templates }}"
                )
        return self

    def stored(self) -> dict[str, Any]:
        names = {
            "create_task": ("task",),
            "post_message": ("to", "channel_id", "body", "importance", "ack_required"),
            "spawn_agent": ("orchestrator_id", "policy_name", "cwd", "label"),
        }[self.type]
        dumped = self.model_dump(by_alias=True, include=set(names), exclude_none=True)
        return {"type": self.type, **dumped}


class AutomationBody(Body):
    name: str = Field(min_length=1, max_length=100)
    enabled: bool = True
    trigger: TriggerBody
    action: ActionBody
    max_per_hour: int = Field(default=60, ge=1, le=1000)


class AutomationPatchBody(Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    enabled: bool | None = None
    trigger: TriggerBody | None = None
    action: ActionBody | None = None
    max_per_hour: int | None = Field(default=None, ge=1, le=1000)
    version: int | None = Field(default=None, ge=1)


class RunBody(Body):
    event: dict[str, Any] | None = None


# The scope each action's own route needs.
_ACTION_SCOPES = {
    "post_message": "message:write",
    "create_task": "task:write",
    "spawn_agent": "command:write",
}


async def _allow_action(action: dict[str, Any]) -> None:
    """Saving, re-arming or running ``action`` by hand: the caller holds the scope of the
    action's route, and may do there what the automation will (403 ``forbidden``). A message
    or a task is sent and created as ``automation:<id>``, which is no agent: a caller bound
    to one agent (``own_agent``) speaks only as that agent, and may post only where that
    agent's outbound bindings let it, so it saves neither; nor does one whose sub is an agent
    it speaks as (``resolve_sender``). A spawn: ``_allow_spawn``."""
    caller = principal()
    if not caller.has_scope(_ACTION_SCOPES[action["type"]]):
        raise Forbidden("forbidden")
    if action["type"] == "spawn_agent":
        await _allow_spawn(action)
    elif own_agent(caller) is not None or (await resolve_sender(services().runtime, caller))[1]:
        raise Forbidden("forbidden")


async def _allow_spawn(action: dict[str, Any]) -> None:
    """Saving, changing or running a spawn needs what spawning needs: ``command:write``
    over the orchestrator, the policy and the cwd (the action's, else the policy's), the
    spawn route's check (403). A target the check cannot know for every run (a template
    saved before they were refused; a cwd the action takes from its policy, which the
    policy's writers may point elsewhere after the save) is allowed only to a caller
    without that constraint: a caller limited by ``cwd`` names the action's own. Each run
    spawns a new agent under a new spawn request, which no ``agents`` or
    ``spawnRequestIds`` constraint can name: a caller with either is refused, as the spawn
    route refuses it."""
    resource = await automations.spawn_resource(services().runtime, action)
    unknown = {_CONSTRAINT_OF_FIELD[n] for n in automations.templated_spawn_fields(action)}
    unknown |= {"agents", "spawnRequestIds"}
    if not action.get("cwd"):
        unknown.add("cwd")
    allow(resource, "command:write")
    caller = principal()
    if not caller.is_root and any(caller.constraints.get(kind) is not None for kind in unknown):
        raise Forbidden("forbidden")


_CONSTRAINT_OF_FIELD = {
    "orchestratorId": "orchestrators",
    "policyName": "policyNames",
    "cwd": "cwd",
}


async def _allow_stored(stored: Automation) -> bool:
    """Changing (disabling too) or deleting an automation that spawns needs, of a
    constrained caller, what re-arming its stored action does: a token limited to one host
    neither stops nor removes another host's spawns (403). An unconstrained one with
    ``config:write`` may always stop or remove it: that can only spawn less. Whether the
    stored action was judged (``_allow_action``)."""
    if principal().constraints and stored.action.get("type") == "spawn_agent":
        await _allow_action(stored.action)
        return True
    return False


async def _visible(automation: Automation) -> bool:
    """Reads: a constrained caller sees an automation that spawns only where its
    constraints cover the spawn (orchestrator, policy, cwd), as config_auth shows spawn
    policies; any other automation, and every one to an unconstrained caller."""
    caller = principal()
    if caller.is_root or not caller.constraints or automation.action.get("type") != "spawn_agent":
        return True
    return can_see(await automations.spawn_resource(services().runtime, automation.action))


async def _readable(automation_id: str) -> Automation:
    """The stored automation, if the caller may read it (403 ``forbidden``)."""
    found = await automations.get(services().runtime, automation_id)
    if not await _visible(found):
        raise Forbidden("forbidden")
    return found


def _rearms(body: AutomationPatchBody) -> bool:
    """Whether a change could make the automation run, or run differently: renaming or
    disabling it cannot."""
    return (
        body.enabled is True
        or body.trigger is not None
        or body.action is not None
        or body.max_per_hour is not None
    )


def _json(automation: Automation) -> dict[str, Any]:
    return automation.to_json()


@bp.get("/api/automations")
@responds(list[automation_responses.Automation])
@requires("config:read")
async def list_automations() -> list[dict[str, Any]]:
    return [_json(a) for a in await automations.list_all(services().runtime) if await _visible(a)]


@bp.post("/api/automations")
@responds({201: automation_responses.Automation}, errors=(403, 409))
@document_request(AutomationBody)
@requires("config:write")
async def create_automation() -> tuple[dict[str, Any], int]:
    body = await parse_body(AutomationBody)
    action = body.action.stored()
    await _allow_action(action)
    automation = await automations.create(
        services().runtime,
        principal().sub,
        name=body.name,
        enabled=body.enabled,
        trigger=body.trigger.stored(),
        action=action,
        max_per_hour=body.max_per_hour,
    )
    return _json(automation), 201


@bp.get("/api/automations/<automation_id>")
@responds(automation_responses.Automation, errors=(403,))
@requires("config:read")
async def get_automation(automation_id: str) -> dict[str, Any]:
    return _json(await _readable(automation_id))


@bp.patch("/api/automations/<automation_id>")
@responds(automation_responses.Automation, errors=(403, 409))
@document_request(AutomationPatchBody)
@requires("config:write")
async def update_automation(automation_id: str) -> dict[str, Any]:
    body = await parse_body(AutomationPatchBody)
    rt = services().runtime
    action = body.action.stored() if body.action is not None else None
    stored = await automations.get(rt, automation_id)
    judged = await _allow_stored(stored)
    # Re-arming judges the action it will run: the new one, or the stored one unless that
    # was just judged (its spawn's policy is read from the store each time).
    if _rearms(body) and (action is not None or not judged):
        await _allow_action(action if action is not None else stored.action)
    # The change applies to the automation just checked, or is a version conflict.
    version = body.version if body.version is not None else stored.version
    changes = AutomationChanges(
        name=body.name,
        enabled=body.enabled,
        trigger=body.trigger.stored() if body.trigger is not None else None,
        action=action,
        max_per_hour=body.max_per_hour,
    )
    automation = await automations.update(rt, principal().sub, automation_id, changes, version)
    return _json(automation)


@bp.delete("/api/automations/<automation_id>")
@responds(automation_responses.Automation, errors=(403, 409))
@requires("config:write")
async def delete_automation(automation_id: str) -> dict[str, Any]:
    rt = services().runtime
    stored = await automations.get(rt, automation_id)
    await _allow_stored(stored)
    # Deletes the automation just checked: changed since, 409.
    removed = await automations.delete(rt, principal().sub, automation_id, stored.version)
    return _json(removed)


@bp.post("/api/automations/<automation_id>/run")
@responds(automation_responses.DispatchResult, errors=(403, 409), body_optional=True)
@document_request(RunBody)
@requires("config:write")
async def run_automation(automation_id: str) -> dict[str, Any]:
    has_body = bool((await request.get_data(cache=True)).strip())
    body = await parse_body(RunBody) if has_body else RunBody()
    rt = services().runtime
    # Running an action by hand is doing it: the caller needs its route's rights, over the
    # version that runs (changed since the check: 409).
    stored = await automations.get(rt, automation_id)
    await _allow_action(stored.action)
    done = await automations.dispatch(
        rt, automation_id, "manual", body.event, version=stored.version
    )
    return done.to_json()


@bp.get("/api/automations/<automation_id>/dispatches")
@responds(
    list[automation_responses.DispatchResult],
    errors=(403,),
    query=(int_param("limit", 1, 200),),
)
@requires("config:read")
async def list_dispatches(automation_id: str) -> list[dict[str, Any]]:
    limit = query_int("limit", 50, low=1, high=200)
    await _readable(automation_id)
    found = await automations.dispatches(services().runtime, automation_id, limit)
    return [each.to_json() for each in found]
