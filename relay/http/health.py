"""Liveness and readiness: unauthenticated, cheap."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from relay.http import responses
from relay.http.auth import public
from relay.http.contract import responds
from relay.http.services import services
from relay.store.health import ping

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@responds(responses.Ok)
@public
async def healthz() -> dict[str, Any]:
    return {"ok": True}


@bp.get("/readyz")
@responds(responses.Ready, errors=(503,))
@public
async def readyz() -> dict[str, Any]:
    """Ready while the store answers a round trip (a standby answers 503 from the gate).

    A member relay's origin may read the answer cross-origin (``Access-Control-Allow-Origin``,
    ``relay.http.cluster``); any other origin gets no CORS headers.

    Raises:
        Unavailable: the store timed out or is unreachable (503, ``Retry-After``); the
            same error any route gets while the database is down.
    """
    svc = services()
    await svc.runtime.store.run(ping)
    return {"ok": True, "store": "ok", "role": svc.leadership.role, "epoch": svc.leadership.epoch}
