"""Agent rules as pure functions: registration, patches, spawning a new session."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from relay.actors.agent.action_rules import LIFECYCLE_ACTIONS, LIFECYCLE_FIELDS, AgentAction
from relay.actors.commands.rules import is_expired
from relay.auth.access import path_within
from relay.domain.agents import AgentCard, AgentPatch, AgentRegistration, SpawnRequest
from relay.domain.commands import Command
from relay.domain.orchestrators import Orchestrator
from relay.errors import Invalid

CWD_OUTSIDE_BASE_DIR = "cwd must be inside the orchestrator's baseDir"

# The card names its lifecycle command before the command is stored (so two requests
# cannot both pass); should the relay die in between, the command never exists and the
# reservation stops counting after this long. Creating a command takes a few store and
# actor round trips, each bounded by far shorter timeouts.
RESERVATION_GRACE_MS = 120_000


# The relay's own senders and creators (messaging.md) and the subjects of the tokens it
# mints (a host's runtime token, a runner's, an MCP token): never an agent's id, so nothing
# they sent or created is ever read as an agent's, and no host blocks another's sends by
# registering an agent under its token's subject.
RESERVED_IDS = frozenset({"root", "relay"})
RESERVED_PREFIXES = ("automation:", "integration:", "orchestrator:", "runner:", "mcp:")


def reserved_id(agent_id: str) -> bool:
    """Whether a new agent may not take this id: it names root, the relay, an automation,
    an integration or a token the relay mints, in any case or width (``Root``, or root
    in fullwidth letters): a recipient reads "from Root" as from root."""
    folded = unicodedata.normalize("NFKC", agent_id).casefold()
    return folded in RESERVED_IDS or folded.startswith(RESERVED_PREFIXES)


def register_card(existing: AgentCard | None, reg: AgentRegistration, now: int) -> AgentCard:
    """The card after a (re-)registration; registering counts as a heartbeat.

    A re-registration keeps what the client does not send and merges ``meta``.
    """
    if existing is None:
        return AgentCard(
            id=reg.id,
            name=reg.name or reg.id,
            kind=reg.kind or "agent",
            status="online",
            ready=bool(reg.ready),
            tags=reg.tags or (),
            orchestrator_id=reg.orchestrator_id,
            provider_capabilities=reg.provider_capabilities,
            meta=dict(reg.meta or {}),
            registered_at=now,
            last_seen_at=now,
        )
    merged = apply_patch(
        existing,
        AgentPatch(
            name=reg.name,
            ready=reg.ready,
            tags=reg.tags,
            meta=reg.meta,
            provider_capabilities=reg.provider_capabilities,
            orchestrator_id=reg.orchestrator_id,
        ),
    )
    return replace(merged, kind=reg.kind or existing.kind, status="online", last_seen_at=now)


def apply_patch(card: AgentCard, patch: AgentPatch) -> AgentCard:
    """``None`` leaves a field alone; ``meta`` merges key by key (a ``null`` value removes it)."""
    meta = card.meta
    if patch.meta is not None:
        meta = {**card.meta, **patch.meta}
        meta = {key: value for key, value in meta.items() if value is not None}
    return replace(
        card,
        name=patch.name if patch.name is not None else card.name,
        ready=patch.ready if patch.ready is not None else card.ready,
        tags=patch.tags if patch.tags is not None else card.tags,
        meta=meta,
        provider_capabilities=(
            patch.provider_capabilities
            if patch.provider_capabilities is not None
            else card.provider_capabilities
        ),
        orchestrator_id=(
            patch.orchestrator_id if patch.orchestrator_id is not None else card.orchestrator_id
        ),
    )


def check_spawn_cwd(request: SpawnRequest, orch: Orchestrator) -> None:
    """An orchestrator spawns only inside the directory it owns.

    Raises:
        Invalid: the request's ``cwd`` is outside the orchestrator's ``baseDir``.
    """
    _check_within_base_dir(request.cwd, orch)


def _check_within_base_dir(cwd: str, orch: Orchestrator) -> None:
    if not path_within(cwd, orch.base_dir):
        raise Invalid(CWD_OUTSIDE_BASE_DIR)


def check_restart_cwd(params: Mapping[str, Any], orch: Orchestrator | None) -> None:
    """A restart or resume respawns only inside the managing orchestrator's directory, as
    ``check_spawn_cwd`` judges a spawn: its ``restartSpawn`` (from a spawn policy, say) may
    name any cwd, and the daemon stops the old session before it refuses the new one's
    cwd, leaving nothing running. Judged before a lifecycle is reserved. One naming no cwd
    (a card that records none) is left to the daemon, which refuses it before it stops
    anything.

    Raises:
        Invalid: ``restartSpawn.cwd`` lies outside the orchestrator's ``baseDir``.
    """
    spawn = params.get("restartSpawn")
    if orch is None or not isinstance(spawn, Mapping):
        return
    cwd = spawn.get("cwd")
    if isinstance(cwd, str) and cwd:
        _check_within_base_dir(cwd, orch)


def spawn_params(
    request: SpawnRequest, *, spawn_request_id: str, requested_by: str
) -> dict[str, Any]:
    """The ``agent.spawn`` command's params (without the runner token); unsent fields left out."""
    params: dict[str, Any] = {
        "spawnRequestId": spawn_request_id,
        "provider": request.provider,
        "model": request.model,
        "label": request.label,
        "cwd": request.cwd,
        "policyName": request.policy_name,
        "providerArgs": list(request.provider_args),
        "workspaceMode": request.workspace_mode,
        "requestedBy": requested_by,
        "command": list(request.command) if request.command is not None else None,
    }
    return {key: value for key, value in params.items() if value is not None}


# -- the card's lifecycle fields while an action is in flight ----------------------------------


def begin_lifecycle(card: AgentCard, action: AgentAction, command_id: str, now: int) -> AgentCard:
    """The card while ``action`` (shutdown, restart, resume) is in flight: not ready."""
    meta = {
        **card.meta,
        "lifecycleAction": LIFECYCLE_ACTIONS[action],
        "lifecycleActionAt": now,
        "lifecycleCommandId": command_id,
    }
    return replace(card, ready=False, meta=meta)


def lifecycle_command_id(card: AgentCard) -> str | None:
    """The command the card's lifecycle fields belong to, if any."""
    value = card.meta.get("lifecycleCommandId")
    return value if isinstance(value, str) and value else None


def lifecycle_in_flight(card: AgentCard, command: Command | None, now: int) -> bool:
    """Whether a shutdown, restart or resume is still in flight for ``card``.

    ``command`` is the stored command named by ``meta.lifecycleCommandId`` (``None`` if
    there is none). In flight while that command is neither settled nor expired; a name
    with no stored command is a reservation, in flight for ``RESERVATION_GRACE_MS`` from
    ``meta.lifecycleActionAt``.
    """
    command_id = lifecycle_command_id(card)
    if command_id is None:
        return False
    if command is None or command.id != command_id:
        reserved_at = card.meta.get("lifecycleActionAt")
        return (
            isinstance(reserved_at, int)
            and not isinstance(reserved_at, bool)
            and now - reserved_at < RESERVATION_GRACE_MS
        )
    return not command.settled and not is_expired(command, now)


def end_lifecycle(card: AgentCard, command_id: str, *, offline: bool) -> AgentCard | None:
    """The card once ``command_id`` settled, or ``None`` if nothing changes.

    Only the command that set the lifecycle fields clears them (a later action owns
    them otherwise), so running this twice changes nothing the second time.
    ``offline``: the agent's process is gone (a shutdown succeeded).
    """
    if card.meta.get("lifecycleCommandId") != command_id:
        return None
    meta = {key: value for key, value in card.meta.items() if key not in LIFECYCLE_FIELDS}
    return replace(card, meta=meta, status="offline" if offline else card.status)


def abort_lifecycle(card: AgentCard, command_id: str, *, ready: bool) -> AgentCard | None:
    """The card once the reservation for ``command_id`` is given back (its command could not
    be created): the lifecycle fields gone and ``ready`` as it was; ``None`` if another
    command owns the fields."""
    cleared = end_lifecycle(card, command_id, offline=False)
    return None if cleared is None else replace(cleared, ready=ready)


def record_resumed_by(card: AgentCard, agent_id: str) -> AgentCard | None:
    """The old session's card linked to the session that resumed it (``None``: already)."""
    if card.meta.get("resumedByAgentId") == agent_id:
        return None
    return replace(card, meta={**card.meta, "resumedByAgentId": agent_id})
