"""Agent control actions as pure functions.

Which actions an agent supports, which orchestrator carries them out, which
Claude session a resume continues, and what the command says (how the card's
lifecycle fields move is in ``rules``). No I/O and no clock: the caller loads the card, the
online orchestrators, the timeline and the spawn policy, and passes ``now``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

from relay.actors.agent.host_meta import runner_managed
from relay.domain.agents import AgentCard, TimelineEntry
from relay.domain.commands import Command
from relay.domain.memory_reload import reload_tags
from relay.domain.orchestrators import Orchestrator
from relay.errors import Conflict, Invalid, RelayError, Unprocessable

JSON = dict[str, Any]

AgentAction = Literal["restart", "shutdown", "reconnect", "compact", "clearContext", "resume"]
ACTIONS: tuple[AgentAction, ...] = get_args(AgentAction)
UNKNOWN_ACTION = f"action must be one of {', '.join(ACTIONS)}"
NO_ORCHESTRATOR_FOR_RESUME = "no online orchestrator available to resume agent"
NO_RESUME_ID = "no Claude resume id recorded for agent"
LIFECYCLE_IN_PROGRESS = "a lifecycle action is already in progress"

# The managing orchestrator carries these out when there is one: it owns the session's
# process (restart, shutdown, resume) and its terminal (reconnect, compact, clearContext
# are keystrokes into the provider's session). Without one they go to the agent's channel.
VIA_ORCHESTRATOR: frozenset[str] = frozenset(
    {"restart", "shutdown", "resume", "reconnect", "compact", "clearContext"}
)

LIFECYCLE_ACTIONS: dict[str, str] = {
    "shutdown": "shutting-down",
    "restart": "restarting",
    "resume": "resuming",
}
LIFECYCLE_FIELDS = ("lifecycleAction", "lifecycleActionAt", "lifecycleCommandId")

COMMAND_TYPES: dict[str, str] = {
    "restart": "agent.restart",
    "resume": "agent.restart",  # a resume is a restart that continues the Claude session
    "shutdown": "agent.shutdown",
    "reconnect": "agent.reconnect",
    "compact": "agent.compact",
    "clearContext": "agent.clearContext",
}
ACTION_OF_TYPE: dict[str, AgentAction] = {
    "agent.restart": "restart",
    "agent.shutdown": "shutdown",
    "agent.reconnect": "reconnect",
    "agent.compact": "compact",
    "agent.clearContext": "clearContext",
}

_REQUESTED = {
    "restart": "Agent restart requested",
    "resume": "Agent resume requested",
    "shutdown": "Agent shutdown requested",
    "reconnect": "Agent reconnect requested",
    "compact": "Agent compaction requested",
    "clearContext": "Agent context clear requested",
}
_COMPLETED = {
    "restart": "Agent restarted",
    "resume": "Agent resumed",
    "shutdown": "Agent shut down",
    "reconnect": "Agent reconnected",
    "compact": "Agent compacted",
    "clearContext": "Agent context cleared",
}
_FAILED = {
    "restart": "Agent restart failed",
    "resume": "Agent resume failed",
    "shutdown": "Agent shutdown failed",
    "reconnect": "Agent reconnect failed",
    "compact": "Agent compaction failed",
    "clearContext": "Agent context clear failed",
}
_ICONS = {
    "shutdown": "ti-power",
    "compact": "ti-compress",
    "clearContext": "ti-eraser",
    "resume": "ti-player-play",
}

# Cards that are not a provider session (a person, an orchestrator's own identity):
# there is no process to restart, compact or resume.
NON_SESSION_KINDS: frozenset[str] = frozenset({"human", "orchestrator"})

SPAWN_PROVIDERS: frozenset[str] = frozenset({"claude", "codex"})
WORKSPACE_MODES: frozenset[str] = frozenset({"isolated", "shared", "inherit"})
RESUME_FLAG = "--resume"
CLAUDE_RESUME_ID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE
)
TIMELINE_WINDOW = 50  # how many of the newest timeline entries a resume looks through


# -- support ------------------------------------------------------------------------------------


def parse_action(raw: object) -> AgentAction:
    """The action named by ``raw``.

    Raises:
        Invalid: ``action must be one of restart, shutdown, reconnect, compact,
            clearContext, resume``.
    """
    for action in ACTIONS:
        if raw == action:
            return action
    raise Invalid(UNKNOWN_ACTION)


def _text(values: Mapping[str, Any] | None, key: str) -> str | None:
    """A non-empty string field, else ``None``."""
    value = values.get(key) if values else None
    return value if isinstance(value, str) and value.strip() else None


def _lifecycle_capabilities(card: AgentCard) -> Mapping[str, Any] | None:
    capabilities = card.provider_capabilities or {}
    lifecycle = capabilities.get("lifecycle")
    return lifecycle if isinstance(lifecycle, Mapping) else None


def _model_capabilities(card: AgentCard) -> Mapping[str, Any] | None:
    capabilities = card.provider_capabilities or {}
    model = capabilities.get("model")
    return model if isinstance(model, Mapping) else None


def runtime_provider(card: AgentCard) -> str | None:
    """The provider the session runs: ``meta.provider``, else ``providerCapabilities.model``."""
    return _text(card.meta, "provider") or _text(_model_capabilities(card), "provider")


def changes_host_provider(before: AgentCard | None, after: AgentCard) -> bool:
    """Whether a write turns a runner-managed session into another provider's: the host
    respawns it as ``runtime_provider`` says, which falls back to
    ``providerCapabilities.model.provider`` where ``meta.provider`` is unset."""
    if before is None or not is_runner_managed(before):
        return False
    return runtime_provider(after) != runtime_provider(before)


def is_runner_managed(card: AgentCard) -> bool:
    return runner_managed(card.meta)


def is_control_eligible(card: AgentCard) -> bool:
    """Whether the card is a provider session that control actions can reach at all."""
    return card.kind not in NON_SESSION_KINDS


def can_receive_action(card: AgentCard, action: AgentAction) -> bool:
    """Whether ``action`` applies to this agent.

    ``resume``: a Claude session that is not live (``offline`` or ``stale``).
    Otherwise the agent's declared ``providerCapabilities.lifecycle`` decides; an
    agent that declares none supports only ``restart`` and ``shutdown``, and only
    when a runner manages it.
    """
    if not is_control_eligible(card):
        return False
    if action == "resume":
        return runtime_provider(card) == "claude" and card.status in ("offline", "stale")
    lifecycle = _lifecycle_capabilities(card)
    if lifecycle is not None:
        capability = "restartHard" if action == "restart" else action
        return lifecycle.get(capability) is True
    return is_runner_managed(card) and action in ("restart", "shutdown")


def action_refusal(
    card: AgentCard,
    action: AgentAction,
    *,
    orchestrator: Orchestrator | None,
    resume_id: str | None,
) -> RelayError | None:
    """Why ``action`` cannot be requested for ``card`` now, or ``None`` if it can.

    The one statement of the checks, in the order the action route promises; the route
    raises the refusal, the support listing explains it. ``orchestrator`` is the managing
    one (``managing_orchestrator``), ``resume_id`` the newest on the timeline; only a
    resume needs them.
    """
    if not can_receive_action(card, action):
        return Invalid(f"agent does not support {action}")
    if action != "resume":
        return None
    if orchestrator is None:
        return Conflict(NO_ORCHESTRATOR_FOR_RESUME)
    if resume_id is None:
        return Unprocessable(NO_RESUME_ID)
    return None


def lifecycle_conflict(agent_id: str) -> Conflict:
    """The refusal of a second shutdown, restart or resume while one is in flight."""
    return Conflict(f"{LIFECYCLE_IN_PROGRESS} for agent {agent_id}")


def managing_orchestrator(
    card: AgentCard, orchestrators: Iterable[Orchestrator]
) -> Orchestrator | None:
    """The online orchestrator that owns this runner-managed session, if any.

    In order: the orchestrator the card names (by id; by its own agent id only where no
    orchestrator, online or not, has that id: o2's sessions must not go to a host naming
    itself after o2 while o2 is offline), then one whose managed sessions list the agent,
    then one whose managed sessions list the card's ``meta.sessionName``.
    """
    if not is_runner_managed(card):
        return None
    every = list(orchestrators)
    online = sorted((o for o in every if o.status == "online"), key=lambda o: o.id)
    named = card.orchestrator_id
    session_name = _text(card.meta, "sessionName")
    by_id = any(o.id == named for o in every)
    by_name = [o for o in online if named is not None and named == (o.id if by_id else o.agent_id)]
    by_agent = [o for o in online if o.manages(card.id)]
    by_session = [o for o in online if session_name is not None and o.runs(session_name)]
    return next(iter(by_name + by_agent + by_session), None)


def latest_claude_resume_id(entries: Iterable[TimelineEntry]) -> str | None:
    """The first (newest-first input) Claude resume id that is a UUID, if any."""
    for entry in entries:
        resume_id = _text(entry.metadata, "claudeResumeId")
        if (
            _text(entry.metadata, "provider") == "claude"
            and resume_id is not None
            and CLAUDE_RESUME_ID.fullmatch(resume_id)
        ):
            return resume_id
    return None


# -- the command --------------------------------------------------------------------------------


def string_list(value: object) -> list[str]:
    """The non-blank strings of ``value`` if it is a list, else ``[]``."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and item.strip()]


def provider_args_with_resume(args: Iterable[str], resume_id: str) -> list[str]:
    """``args`` without any ``--resume X`` / ``--resume=X``, ending with ``--resume <id>``.

    A bare ``--resume`` takes the next argument with it (or nothing, if it is last);
    empty strings are dropped.
    """
    cleaned: list[str] = []
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        if not arg:
            continue
        if arg == RESUME_FLAG:
            skip_next = True
            continue
        if arg.startswith(f"{RESUME_FLAG}="):
            continue
        cleaned.append(arg)
    return [*cleaned, RESUME_FLAG, resume_id]


def _with_resume(params: JSON, resume_id: str, agent_id: str) -> JSON:
    return {
        **params,
        "providerArgs": provider_args_with_resume(
            string_list(params.get("providerArgs")), resume_id
        ),
        "resumeOfAgentId": agent_id,
        "claudeResumeId": resume_id,
    }


def restart_spawn(
    card: AgentCard,
    *,
    spawn_request_id: str,
    policy_name: str | None,
    policy: object,
    resume_id: str | None,
    now: int,
) -> JSON | None:
    """What the orchestrator spawns in place of the agent, or ``None`` if it cannot say.

    From the spawn policy's value when the agent names one that exists (an object),
    with the card filling what the policy leaves out (the session's ``cwd``, say);
    else from the card alone (provider ``claude`` or ``codex``, model, label, cwd, …).
    A resume continues the Claude session: ``--resume <id>`` ends ``providerArgs``.
    """
    requested_by = "dashboard-resume" if resume_id else "dashboard-restart"
    stamp = {
        "action": "spawn",
        "agentId": card.id,
        "spawnRequestId": spawn_request_id,
        "requestedBy": requested_by,
        "createdBy": requested_by,
        "requestedAt": now,
    }
    params = _spawn_from_card(card, policy_name)
    if policy_name is not None and isinstance(policy, Mapping):
        params = {**params, **policy, "policyName": policy_name}
        params["providerArgs"] = string_list(params.get("providerArgs"))
    elif not params:
        return None
    params.update(stamp)
    return _with_resume(params, resume_id, card.id) if resume_id else params


def _spawn_from_card(card: AgentCard, policy_name: str | None) -> JSON:
    provider = runtime_provider(card)
    if provider not in SPAWN_PROVIDERS:
        return {}
    meta = card.meta
    workspace_mode = _text(meta, "workspaceMode")
    found: dict[str, Any] = {
        "provider": provider,
        "model": _text(meta, "model") or _text(_model_capabilities(card), "model"),
        "effort": _text(meta, "effort"),
        "label": _text(meta, "label") or card.name,
        "cwd": _text(meta, "cwd"),
        "providerArgs": string_list(meta.get("providerArgs")),
        "workspaceMode": workspace_mode if workspace_mode in WORKSPACE_MODES else None,
        "policyName": policy_name,
    }
    return {key: value for key, value in found.items() if value is not None}


def action_params(
    card: AgentCard,
    action: AgentAction,
    *,
    orchestrator: Orchestrator | None,
    spawn: JSON | None,
    resume_id: str | None,
    now: int,
) -> JSON:
    """The command's ``params``: the action, the session it targets, and the respawn."""
    meta = card.meta
    found: dict[str, Any] = {
        "action": action,
        "agentId": card.id,
        "orchestratorId": orchestrator.id if orchestrator else None,
        "sessionName": _text(meta, "sessionName"),
        "tmuxSession": _text(meta, "tmuxSession"),
        "policyName": _text(meta, "policyName"),
        "spawnRequestId": _text(meta, "spawnRequestId"),
        "restartSpawn": spawn if action in ("restart", "resume") else None,
        "claudeResumeId": resume_id,
        "memoryReload": reload_tags(card.tags) if action == "compact" else None,
        "requestedBy": "dashboard",
        "requestedAt": now,
    }
    return {key: value for key, value in found.items() if value is not None}


def action_of_command(command: Command) -> AgentAction | None:
    """The action a settled command carried out: ``params.action``, else from its type."""
    raw = command.params.get("action")
    if isinstance(raw, str) and raw in ACTIONS:
        return parse_action(raw)
    return ACTION_OF_TYPE.get(command.type)


def agent_of_command(command: Command) -> str | None:
    """The agent an action command is about: ``params.agentId``, else an agent target."""
    agent_id = _text(command.params, "agentId")
    if agent_id is not None:
        return agent_id
    return command.target if command.target_kind == "agent" else None


def requested_title(action: AgentAction) -> str:
    return _REQUESTED[action]


def outcome_title(action: AgentAction, *, succeeded: bool) -> str:
    return (_COMPLETED if succeeded else _FAILED)[action]


def icon(action: AgentAction) -> str:
    return _ICONS.get(action, "ti-refresh")
