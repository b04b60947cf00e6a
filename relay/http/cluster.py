"""``GET /api/cluster``: the active relay, the standbys, the epoch (public, like /metrics).

Served by the app on the active and by the standby gate (``relay.http.standby``) on a
standby, from the same ``Leadership`` view, so both answer alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from quart import Blueprint

from relay.election import Leadership
from relay.http import responses
from relay.http.auth import public
from relay.http.contract import responds
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


@bp.get("/api/cluster")
@responds(responses.Cluster)
@public
async def cluster() -> dict[str, Any]:
    return cluster_body(services().leadership)
