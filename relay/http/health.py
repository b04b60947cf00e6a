"""Liveness and readiness: unauthenticated, cheap."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from relay.errors import Unavailable
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
    try:
        await services().runtime.store.run(ping)
    except Unavailable:
        raise Unavailable("store timed out") from None
    return {"ok": True, "store": "ok"}
