"""An agent's inbox: fetch (lease, long-poll, peek) and ack (spec/messaging.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field
from quart import Blueprint, request
from quart_schema import document_request

from relay.actors import inbox
from relay.actors.inbox.messages import waiting_key
from relay.domain.messages import Delivery, Message
from relay.errors import Forbidden, Invalid
from relay.http import responses
from relay.http.auth import allow_acting_for, principal, requires
from relay.http.contract import Query, int_param, responds, str_param
from relay.http.services import services
from relay.http.token_watch import until_token_ends
from relay.http.validation import Body, parse_body, query_int, query_str
from relay.store import messages as message_store

bp = Blueprint("inboxes", __name__)


class AckBody(Body):
    lease_id: str = Field(min_length=1, max_length=64)
    # Each id is bounded by its column: a longer one names no delivery of the lease.
    delivery_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=1000
    )


def _peek_param() -> bool:
    raw = request.args.get("peek")
    if raw is None or raw in ("", "false"):
        return False
    if raw == "true":
        return True
    raise Invalid("peek must be true or false")


async def inbox_items(
    deliveries: list[Delivery], known: Mapping[str, Message] | None = None
) -> list[dict[str, Any]]:
    """Each delivery with its message: from ``known`` (the inbox's memory) where it is
    there, else read from the store."""
    found = dict(known or {})
    ids = [d.message_id for d in deliveries if d.message_id not in found]
    if ids:
        found.update(await services().runtime.store.run(lambda: message_store.messages_by_id(ids)))
    return [
        {
            "deliveryId": d.id,
            "attempt": d.attempt,
            "state": d.state,
            "message": found[d.message_id].to_json(),
        }
        for d in deliveries
        if d.message_id in found
    ]


@bp.get("/api/agents/<agent_id>/inbox")
@responds(
    responses.Inbox,
    errors=(403, 404, 409),
    query=(
        int_param("lease", 5, 3600),
        int_param("limit", 1, 100),
        int_param("wait", 0, 60),
        Query("peek", {"type": "boolean"}),
        str_param(
            "ack",
            64,
            description="a leaseId of this inbox to ack first, as POST …/inbox/ack with no "
            "deliveryIds: all or nothing, its 404/409 refusals, and then nothing is fetched. "
            "The reply's acked lists its deliveries. A consumer loop is one fetch per batch.",
        ),
    ),
)
@requires("message:read")
async def fetch_inbox(agent_id: str) -> dict[str, Any]:
    rt = services().runtime
    lease = query_int("lease", rt.settings.inbox_lease_seconds, low=5, high=3600)
    limit = query_int("limit", 20, low=1, high=100)
    wait = query_int("wait", 0, low=0, high=60)
    peek = _peek_param()
    ack = query_str("ack", max_length=64)
    if ack is None and "ack" in request.args:
        # An empty one is a client's missing lease, not "no ack": its deliveries would be
        # handed out again when their lease ends, with nothing said.
        raise Invalid("ack must be a leaseId")
    if ack is not None:
        if peek:
            raise Invalid("ack cannot be combined with peek")
        # Acking is the ack route's business: the same scope (an extension, not a loophole).
        if not principal().has_scope("message:write"):
            raise Forbidden("forbidden")
    await allow_acting_for(agent_id)
    if peek:
        live = await inbox.peek(rt, agent_id)
        return {"leaseId": None, "leaseExpiresAt": None, "items": await inbox_items(live)}
    # A wait ends with the token: a revoked one is handed nothing queued meanwhile.
    handed = await until_token_ends(
        lambda stop: inbox.fetch(
            rt, agent_id, lease_seconds=lease, limit=limit, wait_seconds=wait, ack=ack, stop=stop
        ),
        wake=lambda: rt.doorbells.ring(waiting_key(agent_id)),
        took_nothing=lambda handed: not handed.deliveries and not handed.acked,
        longest=wait,
    )
    reply: dict[str, Any] = {
        "leaseId": handed.lease_id,
        "leaseExpiresAt": handed.lease_expires_at,
        "items": await inbox_items(handed.deliveries, handed.messages),
    }
    if ack is not None:
        reply["acked"] = handed.acked
    return reply


@bp.post("/api/agents/<agent_id>/inbox/ack")
@responds(responses.Acked, errors=(403, 404, 409))
@document_request(AckBody)
@requires("message:write")
async def ack_inbox(agent_id: str) -> dict[str, Any]:
    body = await parse_body(AckBody)
    await allow_acting_for(agent_id)
    ids = tuple(body.delivery_ids) if body.delivery_ids is not None else None
    acked = await inbox.ack(services().runtime, agent_id, body.lease_id, ids)
    return {"acked": acked}
