"""Activity (audit) events as values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ActivityInput:
    kind: str
    title: str
    client_id: str | None = None
    body: str | None = None
    meta: str | None = None
    icon: str | None = None
    view: str | None = None
    agent_id: str | None = None
    metadata: JSON = field(default_factory=dict)
    # The orchestrator the event concerns: given for an orchestrator's own (a command to
    # it), else stored as the agent's orchestrator at the time (``activity.append``).
    orchestrator_id: str | None = None
    # Where a row the relay writes about a workspace is (its paths' common ancestor), by
    # which a caller limited by path reads it; never taken from a client's row.
    path: str | None = None


@dataclass(frozen=True, slots=True)
class ActivityEvent:
    id: int
    kind: str
    title: str
    client_id: str | None
    body: str | None
    meta: str | None
    icon: str | None
    view: str | None
    agent_id: str | None
    metadata: JSON
    created_at: int
    orchestrator_id: str | None = None
    path: str | None = None

    def to_json(self) -> JSON:
        event: JSON = {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "metadata": self.metadata,
            "createdAt": self.created_at,
        }
        optional = {
            "clientId": self.client_id,
            "body": self.body,
            "meta": self.meta,
            "icon": self.icon,
            "view": self.view,
            "agentId": self.agent_id,
            "orchestratorId": self.orchestrator_id,
            "path": self.path,
        }
        event.update({key: value for key, value in optional.items() if value is not None})
        return event
