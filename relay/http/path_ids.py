"""URLs at the edge: one length limit per path id kind, and no NUL, before any view runs.

Each limit is its column's width (``relay.store.models``): an id longer than that
cannot name a stored row, so it is answered here, as the thing not found, and never
reaches the store or an actor (where it used to fail the column check: a 500, or a 503
after the actor died three times on start). ``/openapi.json`` documents the same
limits as each path parameter's ``maxLength``. Config namespaces, keys and profile
names are checked by their routes (``relay.domain.config.check_name``); job names never
leave memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from quart import Quart, request, websocket

from relay.errors import Invalid, NotFound, RelayError
from relay.http.nul_guard import refuse_nul_in_url


@dataclass(frozen=True, slots=True)
class PathId:
    max_length: int
    thing: str  # "<thing> not found"
    not_found: bool = True  # False: a 400 naming the parameter (an id that needs no row)

    def refusal(self, name: str) -> RelayError:
        if self.not_found:
            return NotFound(f"{self.thing} not found")
        return Invalid(f"{name} must be at most {self.max_length} characters")


PATH_IDS: dict[str, PathId] = {
    "agent_id": PathId(200, "agent"),
    "orchestrator_id": PathId(200, "orchestrator"),
    "command_id": PathId(64, "command"),
    "workspace_id": PathId(64, "workspace"),
    "channel_id": PathId(64, "channel"),
    "binding_id": PathId(36, "binding"),
    "pair_id": PathId(64, "pair"),
    "message_id": PathId(64, "message"),
    "conversation_id": PathId(64, "conversation"),
    "integration_name": PathId(100, "integration"),
    "task_id": PathId(36, "task"),
    "automation_id": PathId(64, "automation"),
    "artifact_id": PathId(64, "artifact"),
    "memory_id": PathId(64, "memory"),
    # Revoking an unknown jti deny-lists it (no row needed): too long is a bad request.
    "jti": PathId(64, "token", not_found=False),
}


def check_path_ids(view_args: dict[str, object] | None) -> None:
    """Raise the refusal of the first path id longer than its kind's limit."""
    for name, value in (view_args or {}).items():
        rule = PATH_IDS.get(name)
        if rule is not None and isinstance(value, str) and len(value) > rule.max_length:
            raise rule.refusal(name)


def install(app: Quart) -> None:
    """Check every URL at the edge, HTTP requests and WebSocket handshakes alike: no NUL
    (``relay.http.nul_guard``), no id longer than its kind allows."""

    @app.before_request
    async def check_request_url() -> None:
        refuse_nul_in_url(request.path, request.args)
        check_path_ids(request.view_args)

    @app.before_websocket
    async def check_websocket_url() -> None:
        refuse_nul_in_url(websocket.path, websocket.args)
        check_path_ids(websocket.view_args)
