"""The messages AgentActor understands; each names the reply it gets."""

from __future__ import annotations

from dataclasses import dataclass

from relay.actors.agent.action_rules import (
    AgentAction,
)
from relay.actors.runtime.aggregate import Sweep
from relay.actors.runtime.bridge import Ask
from relay.domain.activity import ActivityInput
from relay.domain.agents import (
    AgentCard,
    AgentPatch,
    AgentRegistration,
    TimelineEntry,
    TimelineInput,
)

KIND = "agent"


@dataclass(frozen=True, slots=True)
class Register(Ask[tuple[AgentCard, bool]]):
    """Create or refresh the card. Replies ``(card, created)``; raises Forbidden when
    ``host_guarded`` (the caller is limited to agents) and it would steer a host
    (``host_meta.steers_host``), or when ``paths`` (the caller's ``cwd`` prefixes, if it
    is limited by path) do not cover the card's working directory before and after a
    write that changes it (``host_meta.moves_past_paths``)."""

    registration: AgentRegistration
    host_guarded: bool = False
    paths: tuple[str, ...] | None = None
    # The caller's ``policyNames``/``spawnRequestIds`` as (meta field, values): 403 for a
    # write changing the field past them (``host_meta.relabels_past``).
    labels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # The caller's ``orchestrators``: 403 for a card held under another, or under none
    # unless its ``agents`` name it (``named``), as ``access.reaches`` says. The route
    # judged the card as it read it (or an agent not yet committed as new); this judges
    # the card the actor holds when the write is applied.
    hosts: tuple[str, ...] | None = None
    named: bool = False


@dataclass(frozen=True, slots=True)
class Heartbeat(Ask[AgentCard]):
    """Mark the agent online now. Replies the card; raises NotFound."""


@dataclass(frozen=True, slots=True)
class Patch(Ask[AgentCard]):
    """Merge meta, replace tags/ready/name. Replies the card; raises NotFound, and
    Forbidden as ``Register`` does for ``host_guarded`` and ``paths``."""

    patch: AgentPatch
    host_guarded: bool = False
    paths: tuple[str, ...] | None = None
    labels: tuple[tuple[str, tuple[str, ...]], ...] = ()  # as ``Register``'s
    hosts: tuple[str, ...] | None = None  # as ``Register``'s
    named: bool = False


@dataclass(frozen=True, slots=True)
class Delete(Ask[None]):
    """Remove the agent and its timeline. Raises NotFound."""


@dataclass(frozen=True, slots=True)
class AppendTimeline(Ask[TimelineEntry]):
    """Add a timeline entry. Replies the stored entry; raises NotFound."""

    entry: TimelineInput


@dataclass(frozen=True, slots=True)
class Reap(Sweep, Ask[AgentCard | None]):
    """Apply the stale rule at the current time. Replies the card if its status changed."""


@dataclass(frozen=True, slots=True)
class BeginLifecycle(Ask[AgentCard]):
    """Reserve the agent's lifecycle for a shutdown, restart or resume under ``command_id``,
    before that command is created: the one place that decides whether one may start.

    Sets ``ready=false`` and ``meta.lifecycleAction`` / ``lifecycleActionAt`` /
    ``lifecycleCommandId``, publishes the change. Replies the card; raises NotFound, and
    Conflict ``a lifecycle action is already in progress for agent <id>`` while the
    command the card names is neither settled nor expired (or, not stored yet, was
    reserved within ``RESERVATION_GRACE_MS``).
    """

    action: AgentAction
    command_id: str


@dataclass(frozen=True, slots=True)
class AbortLifecycle(Ask[AgentCard | None]):
    """Give back the reservation for ``command_id``: its command could not be created.

    Clears the lifecycle fields if that command still owns them and restores ``ready``
    as it was when reserved (if this activation remembers it). Replies the card if it
    changed, else ``None``; raises NotFound.
    """

    command_id: str


@dataclass(frozen=True, slots=True)
class EndLifecycle(Ask[AgentCard | None]):
    """The lifecycle command ``command_id`` settled: clear the lifecycle fields.

    Only if that command still owns them (idempotent); ``offline`` also marks the
    agent offline (a succeeded shutdown). ``audit``, the settle's audit row, is written
    in the same commit (deduplicated on its client id, so a re-run adds none). Replies
    the card if it changed, else ``None``; raises NotFound.
    """

    command_id: str
    offline: bool = False
    audit: ActivityInput | None = None


@dataclass(frozen=True, slots=True)
class RecordResumedBy(Ask[AgentCard | None]):
    """Link this (old) session to the one that resumed it: ``meta.resumedByAgentId``.

    Replies the card if it changed, else ``None``; raises NotFound.
    """

    agent_id: str
