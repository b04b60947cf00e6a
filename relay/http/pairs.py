"""Pair routes: form a pair, read pairs, act on one, message the other party
(spec tasks.md, "Pairs")."""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import Field
from quart import Blueprint
from quart_schema import document_request

from relay.actors import messaging, pairs
from relay.domain.pairs import OBJECTIVE_MAX, PAIR_STATUSES, Pair, PairAction
from relay.errors import Invalid
from relay.http import pair_responses, responses
from relay.http.auth import principal, requires
from relay.http.contract import int_param, responds, str_param
from relay.http.messages import AttachmentBody, sent_json
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_int, query_str

bp = Blueprint("pairs", __name__)


class CreatePairBody(Body):
    driver: str = Field(min_length=1, max_length=200)
    navigator: str = Field(min_length=1, max_length=200)
    task_id: str | None = Field(default=None, min_length=1, max_length=200)
    objective: str | None = Field(default=None, max_length=OBJECTIVE_MAX)


class PairActionBody(Body):
    action: PairAction
    message: str | None = None
    version: int | None = Field(default=None, ge=1)


class PairMessageBody(Body):
    body: str
    client_message_id: str | None = None
    ack_required: bool = False
    importance: str = "normal"
    attachments: list[AttachmentBody] = Field(default_factory=list)


def pair_json(pair: Pair) -> dict[str, Any]:
    return pair.to_json()


@bp.post("/api/pairs")
@responds({201: pair_responses.Pair}, errors=(403, 404, 409))
@document_request(CreatePairBody)
@requires("task:write")
async def create_pair() -> tuple[dict[str, Any], int]:
    body = await parse_body(CreatePairBody)
    pair = await pairs.create(
        services().runtime,
        principal(),
        pairs.NewPair(
            driver=body.driver,
            navigator=body.navigator,
            task_id=body.task_id,
            objective=body.objective,
        ),
    )
    return pair_json(pair), 201


@bp.get("/api/pairs")
@responds(
    list[pair_responses.Pair],
    query=(
        str_param("agentId", 200),
        str_param("status", enum=PAIR_STATUSES),
        int_param("limit", 1, 500),
    ),
)
@requires("task:read")
async def list_pairs() -> list[dict[str, Any]]:
    agent_id = query_str("agentId", max_length=200)
    status = query_str("status", max_length=32)
    if status is not None and status not in PAIR_STATUSES:
        raise Invalid(f"status must be one of {', '.join(PAIR_STATUSES)}")
    limit = query_int("limit", 100, low=1, high=500)
    found = await pairs.listed(services().runtime, principal(), agent_id, status, limit)
    return [pair_json(p) for p in found]


@bp.get("/api/pairs/<pair_id>")
@responds(pair_responses.Pair, errors=(403, 404))
@requires("task:read")
async def get_pair(pair_id: str) -> dict[str, Any]:
    pair, _acting = await pairs.readable(services().runtime, principal(), pair_id)
    return pair_json(pair)


@bp.post("/api/pairs/<pair_id>/actions")
@responds(pair_responses.Pair, errors=(403, 404, 409))
@document_request(PairActionBody)
@requires("task:write")
async def pair_action(pair_id: str) -> dict[str, Any]:
    body = await parse_body(PairActionBody)
    return pair_json(await act(pair_id, body.action, body.message, body.version))


async def act(pair_id: str, action: PairAction, message: str | None, version: int | None) -> Pair:
    """An action on a pair, for the route and the MCP ``pair_action`` alike: a ``message``
    (with any action) is a send, and holds a slot of the sends in flight as every send
    does, taken before the action is applied (an overloaded relay changes nothing)."""
    rt = services().runtime
    with rt.sends.slot() if message else contextlib.nullcontext():
        return await pairs.act(rt, principal(), pair_id, action, message=message, version=version)


@bp.post("/api/pairs/<pair_id>/messages")
@responds({201: responses.SentMessage, 200: responses.SentMessage}, errors=(403, 404, 409))
@document_request(PairMessageBody)
# A message like any other (message:write), or a pair's own business (task:write).
@requires("message:write", "task:write")
async def pair_message(pair_id: str) -> tuple[dict[str, Any], int]:
    body = await parse_body(PairMessageBody)
    data = messaging.SendInput(
        body=body.body,
        client_message_id=body.client_message_id,
        ack_required=body.ack_required,
        importance=body.importance,  # type: ignore[arg-type]  # checked by the flow
        attachments=[{"artifactId": a.artifact_id} for a in body.attachments],
    )
    rt = services().runtime
    with rt.sends.slot():
        sent = await pairs.send(rt, principal(), pair_id, data)
    return sent_json(sent), 201 if sent.created else 200
