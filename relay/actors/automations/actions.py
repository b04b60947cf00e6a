"""The three actions an automation runs, each through the flow its HTTP route calls, as
the automation itself (``automation:<id>``): what they refuse is what a client of that
route would be told."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from relay.actors import agent, messaging, tasking, tasks
from relay.actors.runtime.context import Runtime
from relay.auth.access import Principal, Resource, normalise_path
from relay.domain.agents import SpawnRequest
from relay.domain.automations import JSON, Automation, identity
from relay.domain.bodies import validate
from relay.domain.config import SPAWN_POLICIES_NAMESPACE
from relay.domain.spawn_body import SpawnBody
from relay.domain.tasks import (
    BODY_MAX_BYTES,
    MAX_LINKED_TASKS,
    TITLE_MAX_LENGTH,
    RoutingHints,
    Task,
    new_context_id,
    new_task_id,
    once_task_id,
)
from relay.domain.tokens import SCOPES
from relay.errors import Invalid, NotFound, Unavailable
from relay.store import config as config_store
from relay.store import messages as message_store
from relay.store import tasks as task_store


def principal_of(automation: Automation) -> Principal:
    """The automation as a caller: no agent, no constraints (its save was authorized)."""
    return Principal(
        sub=identity(automation.id),
        role="automation",
        scope=frozenset(SCOPES),
        constraints={},
    )


async def run(
    rt: Runtime, automation: Automation, action: JSON, *, once: str | None = None
) -> JSON:
    """Run ``action`` (its templates rendered) as ``automation``; the dispatch's ``result``.
    ``once``: a key the run is the same run under (its event's): a message posted, a task
    created or an agent spawned again under it is the one made first.

    Raises what the action's route would: Invalid, Forbidden, NotFound, Conflict.
    """
    caller = principal_of(automation)
    kind = action.get("type")
    if kind == "create_task":
        return await _create_task(rt, caller, action.get("task") or {}, once)
    if kind == "post_message":
        return await _post_message(rt, caller, action, once)
    if kind == "spawn_agent":
        return await _spawn_agent(rt, caller, action, once)
    raise Invalid(f"unknown action type {kind!r}")


def _text(data: Mapping[str, Any], name: str, default: str | None = None) -> str | None:
    value = data.get(name, default)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    return value


def _ids(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{name} must be a list of strings")
    if len(value) > MAX_LINKED_TASKS:
        raise Invalid(f"{name} must have at most {MAX_LINKED_TASKS} items")
    return tuple(dict.fromkeys(value))


async def _create_task(
    rt: Runtime, caller: Principal, body: Mapping[str, Any], once: str | None
) -> JSON:
    # Run again under the same key (its event replayed after its result could not be
    # kept), it names the task it made the first time instead of making a second.
    task_id = new_task_id() if once is None else once_task_id(once)
    if once is not None:
        made = await rt.store.run(lambda: task_store.existing_ids([task_id]))
        if made:
            return {"taskId": task_id}
    # The body was checked as a POST /api/tasks body when saved; a template may still
    # have rendered a title empty or a body too long.
    title = _text(body, "title") or ""
    if not 1 <= len(title) <= TITLE_MAX_LENGTH:
        raise Invalid(f"title must be 1 to {TITLE_MAX_LENGTH} characters")
    text = _text(body, "body", "") or ""
    if len(text.encode("utf-8")) > BODY_MAX_BYTES:
        raise Invalid(f"body must be at most {BODY_MAX_BYTES} bytes")
    hints = body.get("routingHints")
    max_attempts = body.get("maxAttempts")
    now = rt.clock.now_ms()
    created_by, created_by_agent = await tasks.creator_of(rt, caller)
    task = Task(
        id=task_id,
        title=title,
        body=text,
        context_id=_text(body, "contextId") or new_context_id(),
        created_by=created_by,
        created_by_agent=created_by_agent,
        status="submitted",
        attempt=0,
        max_attempts=int(max_attempts) if max_attempts else rt.settings.task_max_attempts,
        version=1,
        created_at=now,
        updated_at=now,
        reference_task_ids=_ids(body, "referenceTaskIds"),
        depends_on=_ids(body, "dependsOn"),
        routing_hints=RoutingHints.from_json(hints) if isinstance(hints, dict) else RoutingHints(),
    )
    created, _ready = await tasking.create(rt, task)
    return {"taskId": created.id}


async def _post_message(
    rt: Runtime, caller: Principal, action: Mapping[str, Any], once: str | None
) -> JSON:
    if once is not None:
        # Run again under the same key, it names the message it posted the first time,
        # though its templates (``now``, the automation's ``nextRunAt``) render otherwise
        # now: a repeat with another body would be refused as a reused clientMessageId.
        sender = caller.sub
        posted = await rt.store.run(lambda: message_store.find_by_client_id(sender, once))
        if posted is not None:
            return {"messageId": posted.id}
    sent = await messaging.send(
        rt,
        caller,
        messaging.SendInput(
            body=_text(action, "body", "") or "",
            to=_text(action, "to") or None,
            channel_id=_text(action, "channelId") or None,
            importance=action.get("importance") or "normal",
            ack_required=bool(action.get("ackRequired", False)),
            client_message_id=once,
        ),
    )
    return {"messageId": sent.message.id}


# The fields of a ``spawn_agent`` action that name what is spawned where: never templated,
# so the check made when the action is saved covers every run of it.
SPAWN_TARGET_FIELDS = ("orchestratorId", "policyName", "cwd")


def templated_spawn_fields(action: Mapping[str, Any]) -> tuple[str, ...]:
    """The spawn target fields of ``action`` that hold a ``{{`` template."""
    return tuple(n for n in SPAWN_TARGET_FIELDS if "{{" in str(action.get(n) or ""))


async def spawn_resource(rt: Runtime, action: Mapping[str, Any]) -> Resource:
    """What saving, changing or running a ``spawn_agent`` action needs ``command:write``
    over, as the spawn route: the orchestrator, the policy and the cwd the spawn would use
    (the action's, else its policy's as stored now; None when neither names one)."""
    policy_name = str(action.get("policyName"))
    cwd = action.get("cwd")
    if not cwd:
        policy = await rt.store.run(
            lambda: config_store.get_value(SPAWN_POLICIES_NAMESPACE, policy_name)
        )
        cwd = policy.get("cwd") if isinstance(policy, Mapping) else None
    return Resource(
        orchestrator_id=str(action.get("orchestratorId")),
        policy_name=policy_name,
        cwd=normalise_path(cwd) if isinstance(cwd, str) and cwd else None,
    )


def _spawn_request(
    policy_name: str, policy: Mapping[str, Any], action: Mapping[str, Any]
) -> SpawnRequest:
    """The policy's value as a spawn body, the action's ``cwd`` and ``label`` overriding,
    held to the spawn route's body (``SpawnBody``: a label templated from an event is no
    longer than the route takes); Invalid with the route's message."""
    merged = {**policy, **{k: action[k] for k in ("cwd", "label") if action.get(k)}}
    body = validate(SpawnBody, {**merged, "policyName": policy_name})
    return SpawnRequest(
        provider=body.provider,
        cwd=normalise_path(body.cwd),
        model=body.model,
        label=body.label,
        policy_name=policy_name,
        provider_args=tuple(body.provider_args or ()),
        workspace_mode=body.workspace_mode,
        command=tuple(body.command) if body.command is not None else None,
    )


async def _spawn_agent(
    rt: Runtime, caller: Principal, action: Mapping[str, Any], once: str | None
) -> JSON:
    policy_name = str(action.get("policyName"))
    policy = await rt.store.run(
        lambda: config_store.get_value(SPAWN_POLICIES_NAMESPACE, policy_name)
    )
    if not isinstance(policy, Mapping):
        raise NotFound("spawn policy not found")
    if rt.authenticator is None:
        raise Unavailable("the relay cannot mint tokens yet")
    command, spawn_request_id = await agent.spawn_agent(
        rt,
        rt.authenticator,
        str(action.get("orchestratorId")),
        _spawn_request(policy_name, policy, action),
        # The orchestrator, the policy and the cwd were authorized when the action was
        # saved (they hold no template); a run by hand is authorized by its route.
        authorize=lambda _resource: None,
        requested_by=caller.sub,
        once=once,
    )
    return {"commandId": command.id, "spawnRequestId": spawn_request_id}
