"""Who am I: the caller's identity and grants, so a UI can hide what it may not do."""

from __future__ import annotations

from typing import Any

from quart import Blueprint

from relay.http import responses
from relay.http.auth import AUTHENTICATED, principal, requires
from relay.http.contract import responds

bp = Blueprint("session", __name__)


@bp.get("/api/me")
@responds(responses.Me)
@requires(AUTHENTICATED)
async def me() -> dict[str, Any]:
    caller = principal()
    return {
        "sub": caller.sub,
        "role": caller.role,
        "root": caller.is_root,
        "scope": sorted(caller.scope),
        "constraints": caller.constraints,
    }
