"""Agents as values: the card, timeline entries and their JSON shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Presence = Literal["online", "stale", "offline"]
PRESENCES: tuple[Presence, ...] = ("online", "stale", "offline")
JSON = dict[str, Any]

# The agents' id column: a longer id names no agent, and fits no column that holds one.
AGENT_ID_MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class AgentCard:
    id: str
    name: str
    kind: str
    status: Presence
    ready: bool
    tags: tuple[str, ...]
    orchestrator_id: str | None
    provider_capabilities: JSON | None
    meta: JSON
    registered_at: int
    last_seen_at: int

    def to_json(self) -> JSON:
        card: JSON = {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "ready": self.ready,
            "tags": list(self.tags),
            "meta": self.meta,
            "registeredAt": self.registered_at,
            "lastSeenAt": self.last_seen_at,
        }
        if self.orchestrator_id is not None:
            card["orchestratorId"] = self.orchestrator_id
        if self.provider_capabilities is not None:
            card["providerCapabilities"] = self.provider_capabilities
        return card


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an existing agent is, as stored: the orchestrator it is registered under and
    the working directory its card records (``stored_cwd``). Who acts for the agent is
    judged on these, never on what a request says (``relay.auth.access.acts_for``)."""

    orchestrator_id: str | None
    cwd: str | None


def stored_cwd(meta: Mapping[str, Any]) -> str | None:
    """The card's working directory, ``meta.cwd``, if it is an absolute path; else None (a
    location unknown, which no ``cwd`` constraint covers: a relative or non-text value
    would otherwise be read as a path from the root)."""
    cwd = meta.get("cwd")
    return cwd if isinstance(cwd, str) and cwd.startswith("/") else None


def placement_of(orchestrator_id: str | None, meta: Mapping[str, Any]) -> Placement:
    return Placement(orchestrator_id, stored_cwd(meta))


@dataclass(frozen=True, slots=True)
class AgentRegistration:
    """The writable fields of a card, as a client registers them; ``None`` means not sent."""

    id: str
    name: str | None = None
    kind: str | None = None
    ready: bool | None = None
    tags: tuple[str, ...] | None = None
    orchestrator_id: str | None = None
    provider_capabilities: JSON | None = None
    meta: JSON | None = None


@dataclass(frozen=True, slots=True)
class AgentPatch:
    """A partial update: ``None`` leaves a field as it is; ``meta`` is merged key by key."""

    name: str | None = None
    ready: bool | None = None
    tags: tuple[str, ...] | None = None
    meta: JSON | None = None
    provider_capabilities: JSON | None = None
    orchestrator_id: str | None = None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    id: int
    agent_id: str
    kind: str
    title: str
    body: str | None
    metadata: JSON
    created_at: int

    def to_json(self) -> JSON:
        entry: JSON = {
            "id": self.id,
            "agentId": self.agent_id,
            "kind": self.kind,
            "title": self.title,
            "metadata": self.metadata,
            "createdAt": self.created_at,
        }
        if self.body is not None:
            entry["body"] = self.body
        return entry


@dataclass(frozen=True, slots=True)
class TimelineInput:
    kind: str
    title: str
    body: str | None = None
    metadata: JSON = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpawnRequest:
    """A new agent session an orchestrator is asked to start (``POST …/spawn``).

    ``cwd`` is normalised; ``None`` means not sent.
    """

    provider: str
    cwd: str
    model: str | None = None
    label: str | None = None
    policy_name: str | None = None
    provider_args: tuple[str, ...] = ()
    workspace_mode: str | None = None
    command: tuple[str, ...] | None = None
