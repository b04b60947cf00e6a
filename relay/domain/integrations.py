"""Integration events: what an outside system posted, deduplicated by its delivery id."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


def new_event_id() -> str:
    return f"ievt_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class IntegrationEvent:
    id: str
    integration: str
    delivery_id: str
    type: str
    subject: str | None
    payload: JSON
    occurred_at: int | None
    received_at: int
    # Stored, never shown: the automations it triggered on arrival whose result is not
    # kept yet, by name (None: stored before they were kept).
    pending: tuple[str, ...] | None = None

    def to_json(self, *, with_payload: bool = True) -> JSON:
        data: JSON = {
            "id": self.id,
            "integration": self.integration,
            "deliveryId": self.delivery_id,
            "type": self.type,
            "subject": self.subject,
            "occurredAt": self.occurred_at,
            "receivedAt": self.received_at,
        }
        if with_payload:
            data["payload"] = dict(self.payload)
        return data
