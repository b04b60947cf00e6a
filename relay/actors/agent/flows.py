"""Agent use cases, as the trio side drives them: control actions (request, settle), linking a
resume (spawning a new session: ``relay.actors.agent.spawning``).

``request_action`` reads what the support rules need (the card, the online
orchestrators, the timeline, the spawn policy), checks in the order the API
promises, authorizes the card, builds the command and has the caller judge its params (a
restart's spawn), has the ``AgentActor`` reserve the lifecycle (restart,
shutdown, resume) for the command's id, then queues the command on the managing
orchestrator (or on the agent's own channel); if that fails the reservation is
given back. The settle hooks audit the outcome and clear those fields.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

import trio

from relay.actors import commands
from relay.actors.agent import messages as agent
from relay.actors.agent.action_rules import (
    COMMAND_TYPES,
    LIFECYCLE_ACTIONS,
    TIMELINE_WINDOW,
    VIA_ORCHESTRATOR,
    AgentAction,
    action_of_command,
    action_params,
    action_refusal,
    agent_of_command,
    can_receive_action,
    icon,
    is_runner_managed,
    latest_claude_resume_id,
    managing_orchestrator,
    outcome_title,
    parse_action,
    requested_title,
    restart_spawn,
)
from relay.actors.agent.rules import check_restart_cwd
from relay.actors.agent.spawning import (
    Authorize,
    new_spawn_request_id,
    respawn_credentials,
    revoke_unused,
)
from relay.actors.commands.rules import new_command_id
from relay.actors.orchestrator import flows as orchestrator_flows
from relay.actors.runtime.audit import audit
from relay.actors.runtime.context import Runtime
from relay.actors.runtime.reaping import reap
from relay.auth.access import Resource
from relay.auth.authenticator import Authenticator
from relay.crossing import wait_future
from relay.domain.activity import ActivityInput
from relay.domain.agents import AgentCard, Placement, placement_of
from relay.domain.commands import Command, CommandSpec
from relay.domain.config import SPAWN_POLICIES_NAMESPACE
from relay.domain.orchestrators import Orchestrator
from relay.errors import NotFound, RelayError, Unavailable
from relay.store import agents as agent_store
from relay.store import config as config_store
from relay.store import orchestrators as orchestrator_store

log = logging.getLogger("relay.actors.agent")

JSON = dict[str, Any]

AUDIT_VIEW = "agents"

# The caller's judgment of a command's params, as POST /api/commands makes it of params
# made by hand (``relay.http.command_auth.allow_command_params``); raises Forbidden.
AllowParams = Callable[[Mapping[str, Any]], Awaitable[None]]

# The command types whose settling ``on_action_settled`` handles.
ACTION_COMMAND_TYPES = tuple(sorted(set(COMMAND_TYPES.values())))


async def request_action(
    rt: Runtime,
    agent_id: str,
    raw_action: object,
    *,
    authorize: Authorize,
    allow_params: AllowParams,
    source: str,
    auth: Authenticator | None = None,
) -> Command:
    """Queue the command for a control action on an agent; returns it.

    Raises, in this order:
        Invalid: ``action must be one of …``.
        NotFound: ``agent not found``.
        Invalid: ``agent does not support <action>``.
        Conflict: ``no online orchestrator available to resume agent``.
        Unprocessable: ``no Claude resume id recorded for agent``.
        Forbidden: from ``authorize``, for the agent, the orchestrator that carries the
            action out, and the agent's spawn policy and spawn request; from
            ``allow_params``, for what the command's params name (a ``restartSpawn``'s cwd
            and spawn policy, its new spawn request).
        Invalid: ``cwd must be inside the orchestrator's baseDir`` (a respawn's cwd).
        Conflict: ``a lifecycle action is already in progress for agent <id>`` (restart,
            shutdown, resume only).
        Conflict: ``orchestrator is not online`` (it went offline meanwhile).
    """
    action = parse_action(raw_action)
    card, orch, resume_id = await _checked(rt, agent_id, action)
    # The orchestrator the agent is stored under (named by its id or its own agent id), and
    # the one that carries the action out when another does (one listing the session among
    # its managed agents): an orchestrator's own report never makes another's agent its
    # caller's.
    # (A card naming none is no orchestrator's, though an orchestrator's agent_id is None.)
    named = (
        orch is not None
        and card.orchestrator_id is not None
        and card.orchestrator_id in (orch.id, orch.agent_id)
    )
    resource = Resource(
        agent_id=card.id,
        orchestrator_id=orch.id if orch is not None and named else card.orchestrator_id,
        policy_name=_meta_text(card, "policyName"),
        spawn_request_id=_meta_text(card, "spawnRequestId"),
    )
    authorize(resource)
    if orch is not None and not named:
        # Found by the session it lists, which the card's sessionName names: a caller
        # limited by path must cover that host's baseDir too, or a card within its paths
        # carrying the name of a session working elsewhere would steer that session.
        authorize(replace(resource, orchestrator_id=orch.id, cwd=orch.base_dir))
    spec = await _command_spec(rt, card, action, orch, resume_id, source)
    # The resource above is the card as it is; a restart or resume spawns anew, where its
    # spawn policy or the card's meta says (a cwd, paths, a policy) under a fresh spawn
    # request. Those params are judged as POST /api/commands judges the same ones made by
    # hand: this route is no way around that rule. Judged on the spec that is queued (only
    # its runner token is added after: the relay's own credential, naming nothing the rule
    # reads), before a token is minted or the lifecycle reserved for a refused request.
    await allow_params(spec.params)
    check_restart_cwd(spec.params, orch)
    # The id is known before the command exists: the agent's actor reserves the lifecycle
    # for it first (so of two concurrent requests exactly one passes), and the "requested"
    # row is stored in the command's own commit (no command without the row that says who
    # asked for it).
    command_id = new_command_id()
    lifecycle = action in LIFECYCLE_ACTIONS
    if lifecycle:
        await rt.registry.ask(agent.KIND, card.id, agent.BeginLifecycle(action, command_id))
    try:
        spec, runner_jti = await _with_runner_token(rt, auth, spec, orch, card.id)
        spec = replace(spec, id=command_id)
    except BaseException:
        # Nothing of the command is written yet: the reservation goes back, whatever failed.
        if lifecycle:
            await _abort_lifecycle(rt, card.id, command_id)
        raise
    requested = (_requested_event(card, action, command_id, spec.target),)
    try:
        if orch is not None:
            return await orchestrator_flows.enqueue_if_online(rt, spec, audits=requested)
        return await commands.create(rt, spec, audits=requested)
    except Exception as exc:
        # A refusal, or a write that failed, stored nothing: the reservation goes back.
        # Not when no answer came in time (Unavailable), nor when the request was
        # cancelled: the command's write may still commit and be delivered, and a retry
        # given the lifecycle meanwhile would run a second action on the session. The
        # command ends the reservation when it settles; it lapses if nothing was stored.
        if not isinstance(exc, Unavailable):
            if lifecycle:
                await _abort_lifecycle(rt, card.id, command_id)
            if auth is not None and runner_jti is not None:
                # Handed to nobody: the respawn it was minted for was never queued.
                await revoke_unused(rt, auth, runner_jti)
        raise


async def _abort_lifecycle(rt: Runtime, agent_id: str, command_id: str) -> None:
    """Give the reservation back; if even that fails it lapses on its own (the command was
    never stored), and the caller's own error is the one to report."""
    with trio.CancelScope(shield=True):
        try:
            await rt.registry.ask(agent.KIND, agent_id, agent.AbortLifecycle(command_id))
        except RelayError as exc:
            log.warning(
                "lifecycle_abort_failed agent=%s command=%s error=%r", agent_id, command_id, exc
            )


async def _checked(
    rt: Runtime, agent_id: str, action: AgentAction
) -> tuple[AgentCard, Orchestrator | None, str | None]:
    """The card, its managing orchestrator and the resume id, after the checks that need them."""
    card = await rt.store.run(lambda: agent_store.load(agent_id))
    if card is None:
        raise NotFound("agent not found")
    orch = await _managing_orchestrator(rt, card) if action in VIA_ORCHESTRATOR else None
    resume_id = None
    if action == "resume" and orch is not None and can_receive_action(card, action):
        resume_id = await _resume_id(rt, card.id)
    refusal = action_refusal(card, action, orchestrator=orch, resume_id=resume_id)
    if refusal is not None:
        raise refusal
    return card, orch, resume_id


async def _command_spec(
    rt: Runtime,
    card: AgentCard,
    action: AgentAction,
    orch: Orchestrator | None,
    resume_id: str | None,
    source: str,
) -> CommandSpec:
    """To the managing orchestrator if there is one, else to the agent's own channel."""
    spawn = None
    if orch is not None and action in ("restart", "resume"):
        spawn = await _restart_spawn(rt, card, resume_id)
    params = action_params(
        card, action, orchestrator=orch, spawn=spawn, resume_id=resume_id, now=rt.clock.now_ms()
    )
    return CommandSpec(
        type=COMMAND_TYPES[action],
        target=orch.id if orch else card.id,
        target_kind="orchestrator" if orch else "agent",
        params=params,
        source=source,
        correlation_id=spawn["spawnRequestId"] if spawn else None,
        ttl_seconds=rt.settings.command_default_ttl_seconds,
    )


async def _with_runner_token(
    rt: Runtime,
    auth: Authenticator | None,
    spec: CommandSpec,
    orch: Orchestrator | None,
    agent_id: str,
) -> tuple[CommandSpec, str | None]:
    """``spec`` with its ``restartSpawn`` (if any) given the respawned session's credentials,
    and the jti of the runner token minted for them (``None`` if none was)."""
    spawn = spec.params.get("restartSpawn")
    if orch is None or not isinstance(spawn, dict):
        return spec, None
    credentials, jti = await respawn_credentials(
        rt, auth, orch.id, spawn["spawnRequestId"], agent_id
    )
    return replace(spec, params={**spec.params, "restartSpawn": {**spawn, **credentials}}), jti


async def _managing_orchestrator(rt: Runtime, card: AgentCard) -> Orchestrator | None:
    if not is_runner_managed(card):
        return None
    # Every host, not only the online ones: which ids exist decides what the card names.
    hosts = await rt.store.run(orchestrator_store.list_all)
    return managing_orchestrator(card, hosts)


async def _resume_id(rt: Runtime, agent_id: str) -> str | None:
    entries = await rt.store.run(lambda: agent_store.timeline(agent_id, TIMELINE_WINDOW))
    return latest_claude_resume_id(entries)


async def _restart_spawn(rt: Runtime, card: AgentCard, resume_id: str | None) -> JSON | None:
    """``restartSpawn``: from the agent's spawn policy (if it still exists) or its card."""
    # A fresh spawn request, never the card's: the daemon names the new session after it
    # (relay-<spawnRequestId>) and stops the old one only when the names differ, and the new
    # runner token is runner:<spawnRequestId>. So a token limited by ``spawnRequestIds``
    # (existing spawns) restarts nothing: ``allow_params`` refuses it the fresh id, as
    # POST /api/commands refuses it any restartSpawn.spawnRequestId it does not name.
    spawn_request_id = new_spawn_request_id()
    policy_name = _meta_text(card, "policyName")
    policy = None
    if policy_name is not None:
        policy = await rt.store.run(
            lambda: config_store.get_value(SPAWN_POLICIES_NAMESPACE, policy_name)
        )
    return restart_spawn(
        card,
        spawn_request_id=spawn_request_id,
        policy_name=policy_name,
        policy=policy,
        resume_id=resume_id,
        now=rt.clock.now_ms(),
    )


def _meta_text(card: AgentCard, key: str) -> str | None:
    value = card.meta.get(key)
    return value if isinstance(value, str) and value else None


def _requested_event(
    card: AgentCard, action: AgentAction, command_id: str, target: str
) -> ActivityInput:
    return ActivityInput(
        kind="state",
        client_id=f"agent-action-{command_id}-requested",
        title=requested_title(action),
        body=card.name,
        meta=command_id,
        icon=icon(action),
        view=AUDIT_VIEW,
        agent_id=card.id,
        metadata={"action": action, "commandId": command_id, "target": target},
    )


async def _audit(rt: Runtime, event: ActivityInput) -> None:
    await wait_future(audit(rt, event), timeout=rt.settings.store_timeout_seconds, what="store")


# -- settling -----------------------------------------------------------------------------------


async def on_action_settled(rt: Runtime, command: Command) -> None:
    """Settle hook of the agent action commands: audit the outcome, clear the lifecycle.

    Idempotent: the audit is deduplicated on its client id, and the lifecycle fields
    are cleared only while this command still owns them. For a lifecycle action the
    agent actor writes both in one commit.
    """
    action = action_of_command(command)
    agent_id = agent_of_command(command)
    if action is None or agent_id is None:
        return
    event = None
    if command.status in ("succeeded", "failed"):
        event = _outcome_event(agent_id, action, command)
    if action in LIFECYCLE_ACTIONS:
        offline = action == "shutdown" and command.status == "succeeded"
        try:
            await rt.registry.ask(
                agent.KIND, agent_id, agent.EndLifecycle(command.id, offline, event)
            )
            return
        except NotFound:
            pass  # the agent was deleted meanwhile: nothing left to clear but the row
    if event is not None:
        await _audit(rt, event)


def _outcome_event(agent_id: str, action: AgentAction, command: Command) -> ActivityInput:
    succeeded = command.status == "succeeded"
    return ActivityInput(
        kind="state",
        client_id=f"agent-action-{command.id}-{command.status}",
        title=outcome_title(action, succeeded=succeeded),
        body=command.error if not succeeded else None,
        meta=command.id,
        icon=icon(action),
        view=AUDIT_VIEW,
        agent_id=agent_id,
        metadata={"action": action, "commandId": command.id, "status": command.status},
    )


# -- a resumed session registers ----------------------------------------------------------------


async def link_resumed_session(
    rt: Runtime, card: AgentCard, *, may_touch: Callable[[str, Placement], bool]
) -> None:
    """After ``card`` registered: if it resumes another agent, link the old card back.

    The old agent gets ``meta.resumedByAgentId`` (the new one already carries
    ``meta.resumeOfAgentId``). Skipped when the old agent is unknown, already
    linked, or outside what the registering caller may touch.
    """
    old_id = _meta_text(card, "resumeOfAgentId")
    if old_id is None or old_id == card.id:
        return
    old = await rt.store.run(lambda: agent_store.load(old_id))
    if old is None or old.meta.get("resumedByAgentId") == card.id:
        return
    if not may_touch(old.id, placement_of(old.orchestrator_id, old.meta)):
        return
    try:
        await rt.registry.ask(agent.KIND, old_id, agent.RecordResumedBy(card.id))
    except NotFound:
        return  # deleted between the read and the link


async def reap_agents(rt: Runtime) -> list[AgentCard]:
    """Move silent agents online → stale → offline; returns the cards whose status changed."""
    settings = rt.settings
    return await reap(
        rt,
        agent.KIND,
        agent.Reap(),
        agent_store.due_for_reaping,
        settings.agent_stale_seconds,
        settings.agent_offline_seconds,
    )


async def agent_reaper(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: move silent agents online → stale → offline."""
    return {"changed": len(await reap_agents(rt))}
