"""Integration event rules as pure functions: what a delivery must look like, and what a
repeat of one runs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from relay.errors import Invalid

EVENT_TYPE = re.compile(r"[a-z0-9_.:-]{1,100}")
DELIVERY_ID_MAX = 200
SUBJECT_MAX = 500
DAY_MS = 86_400_000


def check_delivery_id(delivery_id: str | None) -> str:
    """The ``X-Delivery-Id`` header, checked; raises Invalid with the spec's message."""
    if delivery_id is None or delivery_id == "":
        raise Invalid("X-Delivery-Id header required")
    if len(delivery_id) > DELIVERY_ID_MAX:
        raise Invalid(f"X-Delivery-Id must be at most {DELIVERY_ID_MAX} characters")
    return delivery_id


def check_event(event_type: str, subject: str | None, payload: Any) -> None:
    """Raises Invalid for the first bad field of an event body."""
    if not EVENT_TYPE.fullmatch(event_type):
        raise Invalid("type must be 1..100 of a-z 0-9 _ . : -")
    if subject is not None and len(subject) > SUBJECT_MAX:
        raise Invalid(f"subject must be at most {SUBJECT_MAX} characters")
    if payload is not None and not isinstance(payload, dict):
        raise Invalid("payload must be an object")


def retention_cutoff(now: int, days: float) -> int:
    """Events received before this instant (ms) are past the retention (dedupe) window."""
    return now - int(days * DAY_MS)


def left_to_run(
    pending: Sequence[str] | None, kept: Iterable[Mapping[str, Any]]
) -> list[str] | None:
    """What a repeat of a delivery runs: the automations the event triggered on arrival
    (``pending``) with no result ``kept`` for it, in order; for an event stored before
    those were kept (None), None ("what it triggers now") if none of its results is
    kept, else nothing."""
    kept_ids = {str(result.get("automationId")) for result in kept}
    if pending is None:
        return None if not kept_ids else []
    return [automation_id for automation_id in pending if automation_id not in kept_ids]
