"""``GET /api/cluster``: the active relay, the standbys, the epoch (public, like /metrics).

Served by the app on the active and by the standby gate (``relay.http.standby``) on a
standby, from the same ``Leadership`` view, so both answer alike. Another member's
dashboard may read it and ``/readyz`` cross-origin (``relay.http.cors``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quart import Blueprint, Response, request

from relay.election import Leadership
from relay.http import responses
from relay.http.auth import public
from relay.http.contract import NoContent, responds
from relay.http.cors import CORS_PATHS, member_origins, preflight, read_headers
from relay.http.errors import error_response
from relay.http.services import services

bp = Blueprint("cluster", __name__)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


def cluster_body(leadership: Leadership) -> dict[str, Any]:
    me = leadership
    body: dict[str, Any] = {
        "self": {"id": me.self_id, "url": me.self_url, "role": me.role},
        "active": None,
        "standbys": [{"id": m.id, "url": m.url, "seenAt": _iso(m.seen_at)} for m in me.standbys()],
        "epoch": me.epoch,
        "changedAt": _iso(me.lease.changed_at) if me.lease is not None else None,
    }
    if me.role == "single":
        body["active"] = {"id": me.self_id, "url": me.self_url, "since": None}
    elif (lease := me.active()) is not None and lease.holder is not None:
        body["active"] = {
            "id": lease.holder,
            "url": lease.holder_url,
            "since": _iso(lease.acquired_at),
        }
    return body


# OPTIONS is the preflight below, not Quart's automatic answer.
@bp.get("/api/cluster", provide_automatic_options=False)
@responds(responses.Cluster)
@public
async def cluster() -> dict[str, Any]:
    """Who is active. A member relay's origin may read it cross-origin
    (``Access-Control-Allow-Origin``); any other origin gets no CORS headers."""
    return cluster_body(services().leadership)


@bp.route("/api/cluster", methods=["OPTIONS"])
@responds(
    {
        204: NoContent(
            "allowed: a member relay's origin, GET, at most an Authorization header",
            ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods"),
        )
    },
    errors=(403,),
)
@public
async def cluster_preflight() -> Response:
    """The CORS preflight: a dashboard served by another relay of this cluster may read
    ``/api/cluster`` (with an ``Authorization`` header); any other origin is refused (403,
    no CORS headers). Credentials (cookies) are never allowed."""
    status, headers, error = preflight(
        request.headers.get("Origin"),
        request.headers.get("Access-Control-Request-Method"),
        request.headers.get("Access-Control-Request-Headers"),
        member_origins(services().leadership),
    )
    if error is not None:
        return error_response(status, error, dict(headers))
    return Response(b"", status=status, headers=dict(headers))


@bp.after_app_request
async def allow_members(response: Response) -> Response:
    """CORS for another member's dashboard on the reads it needs, errors included (a 503
    from ``/readyz`` says as much as a 200)."""
    if request.path in CORS_PATHS and request.method in ("GET", "HEAD"):
        origins = member_origins(services().leadership)
        for name, value in read_headers(request.headers.get("Origin"), origins):
            response.headers[name] = value
    return response
