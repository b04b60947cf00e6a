"""Liveness and readiness: unauthenticated, cheap."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from relay.errors import Unavailable
from relay.http.auth import public
from relay.http.services import services
from relay.store.health import ping

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
async def healthz() -> dict[str, Any]:
    return {"ok": True}


@bp.get("/readyz")
@public
async def readyz() -> dict[str, Any]:
    try:
        await services().runtime.store.run(ping)
    except Unavailable:
        raise Unavailable("store timed out") from None
    return {"ok": True, "store": "ok"}
