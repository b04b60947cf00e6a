"""Integration routes: receive an outside system's event (deduplicated by
``X-Delivery-Id``), list integrations and their events (spec tasks.md, "Integrations")."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from quart import Blueprint, request
from quart_schema import document_request

from relay.actors import integrations
from relay.domain.integrations import IntegrationEvent
from relay.http import pair_responses
from relay.http.auth import AUTHENTICATED, principal, requires
from relay.http.contract import int_param, responds
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_int

bp = Blueprint("integrations", __name__)

MAX_OCCURRED_AT_MS = 2**53 - 1  # the largest integer a JSON client reads exactly


class IntegrationEventBody(Body):
    type: str = Field(min_length=1, max_length=100)
    subject: str | None = Field(default=None, max_length=500)
    payload: dict[str, Any] | None = None
    # Epoch milliseconds; bounded so a huge number is a 400, not an overflow on store.
    occurred_at: int | None = Field(default=None, ge=0, le=MAX_OCCURRED_AT_MS)


def event_json(event: IntegrationEvent) -> dict[str, Any]:
    return event.to_json()


@bp.post("/api/integrations/<integration_name>/events")
@responds(
    {201: pair_responses.ReceivedEvent, 200: pair_responses.ReceivedEvent},
    errors=(403, 404),
)
@document_request(IntegrationEventBody)
@requires(AUTHENTICATED)
async def receive_event(integration_name: str) -> tuple[dict[str, Any], int]:
    # The caller is checked before the body is read: a stranger learns nothing of it.
    rt = services().runtime
    integrations.allow_posting(rt, principal(), integration_name)
    body = await parse_body(IntegrationEventBody)
    received = await integrations.receive(
        rt,
        principal(),
        integration_name,
        request.headers.get("X-Delivery-Id"),
        integrations.EventInput(
            type=body.type,
            subject=body.subject,
            payload=body.payload,
            occurred_at=body.occurred_at,
        ),
    )
    reply: dict[str, Any] = {
        "event": event_json(received.event),
        "dispatches": received.dispatches,
    }
    if not received.created:
        reply["duplicate"] = True
        return reply, 200
    return reply, 201


@bp.get("/api/integrations")
@responds(list[pair_responses.IntegrationSummary])
@requires("config:read")
async def list_integrations() -> list[dict[str, Any]]:
    return await integrations.summaries(services().runtime)


@bp.get("/api/integrations/<integration_name>/events")
@responds(list[pair_responses.IntegrationEvent], errors=(404,), query=(int_param("limit", 1, 500),))
@requires("config:read")
async def list_events(integration_name: str) -> list[dict[str, Any]]:
    limit = query_int("limit", 50, low=1, high=500)
    found = await integrations.recent_events(services().runtime, integration_name, limit)
    return [event_json(e) for e in found]
