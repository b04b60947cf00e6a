"""``fetch_inbox`` and ``ack_messages``: the caller's own inbox, as ``GET …/inbox`` and
``POST …/inbox/ack`` for the token's agent.

``fetch_inbox`` takes no ``wait``: a tool call that blocks for a minute holds the agent's
turn, and the agent is woken by a message anyway (``agent.wake``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from relay.actors import inbox
from relay.http.auth import allow_acting_for
from relay.http.inboxes import AckBody, inbox_items
from relay.http.mcp.tools import JSON, Tool
from relay.http.services import services
from relay.http.validation import Body


def _between(name: str, value: Any, low: int, high: int) -> Any:
    """The query string's rule and words (``lease must be between 5 and 3600``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return value


class FetchInboxArguments(Body):
    lease: int | None = Field(default=None, ge=5, le=3600)
    limit: int = Field(default=20, ge=1, le=100)
    peek: bool = False

    @field_validator("lease", mode="before")
    @classmethod
    def _lease(cls, value: Any) -> Any:
        return _between("lease", value, 5, 3600)

    @field_validator("limit", mode="before")
    @classmethod
    def _limit(cls, value: Any) -> Any:
        return _between("limit", value, 1, 100)


async def fetch(caller: str, arguments: FetchInboxArguments) -> JSON:
    rt = services().runtime
    await allow_acting_for(caller)
    if arguments.peek:
        live = await inbox.peek(rt, caller)
        return {"leaseId": None, "leaseExpiresAt": None, "items": await inbox_items(live)}
    lease = arguments.lease if arguments.lease is not None else rt.settings.inbox_lease_seconds
    handed = await inbox.fetch(
        rt, caller, lease_seconds=lease, limit=arguments.limit, wait_seconds=0
    )
    return {
        "leaseId": handed.lease_id,
        "leaseExpiresAt": handed.lease_expires_at,
        "items": await inbox_items(handed.deliveries, handed.messages),
    }


async def ack(caller: str, arguments: AckBody) -> JSON:
    await allow_acting_for(caller)
    ids = tuple(arguments.delivery_ids) if arguments.delivery_ids is not None else None
    return {"acked": await inbox.ack(services().runtime, caller, arguments.lease_id, ids)}


FETCH_INBOX = Tool(
    name="fetch_inbox",
    description=(
        "Fetch your queued messages (up to limit, default 20), leased for lease seconds under"
        " one leaseId: ack the ackRequired ones with ack_messages before the lease ends or"
        " they are handed out again. peek: list queued and leased ones, changing nothing."
    ),
    scope="message:read",
    arguments=FetchInboxArguments,
    run=fetch,
)

ACK_MESSAGES = Tool(
    name="ack_messages",
    description=(
        "Acknowledge deliveries fetched under leaseId (deliveryIds, or all of that lease):"
        " all or nothing."
    ),
    scope="message:write",
    arguments=AckBody,
    run=ack,
)
