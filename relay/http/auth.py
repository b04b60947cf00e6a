"""Route-level authentication: every view declares its scope with ``@requires``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar, cast

from quart import g, has_request_context, request, websocket

from relay.auth.access import Principal, Resource, authorize, covers
from relay.errors import Forbidden
from relay.http.services import services
from relay.store import agents as agent_store

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

SCOPE_ATTRIBUTE = "relay_scope"
PUBLIC = "public"
AUTHENTICATED = "authenticated"  # any valid credential, no particular scope


def requires(scope: str, *alternatives: str) -> Callable[[F], F]:
    """Authenticate the caller (401) and check it holds ``scope`` (403) before the view runs.

    With ``alternatives`` any one of the scopes lets the caller in; the view then names
    the scope its action needs in ``allow(resource, scope)``.
    """
    scopes = (scope, *alternatives)

    def decorator(view: F) -> F:
        @wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            headers = request.headers if has_request_context() else websocket.headers
            principal = services().auth.authenticate(headers.get("Authorization"))
            if scope != AUTHENTICATED and not any(principal.has_scope(each) for each in scopes):
                raise Forbidden("forbidden")
            g.principal = principal
            g.scope = scope
            return await view(*args, **kwargs)

        setattr(wrapper, SCOPE_ATTRIBUTE, " | ".join(scopes))
        return cast(F, wrapper)

    return decorator


def public(view: F) -> F:
    """Mark a view as deliberately unauthenticated (health, metrics)."""
    setattr(view, SCOPE_ATTRIBUTE, PUBLIC)
    return view


def principal() -> Principal:
    current: Principal = g.principal
    return current


def allow(resource: Resource, scope: str | None = None) -> None:
    """403 unless the caller's constraints cover ``resource`` (and it holds ``scope``)."""
    authorize(principal(), scope or g.scope, resource)


def can_see(resource: Resource) -> bool:
    """For lists: whether the caller's constraints cover this item."""
    return covers(principal(), resource)


async def allow_agent(agent_id: str, orchestrator_id: str | None = None) -> None:
    """``allow`` for a route that touches one agent: the agent, and the orchestrator it is
    registered under (a token limited to orchestrator o1 may not touch o2's agents).

    Only a caller limited by orchestrator pays for the look-up of the agent's card.
    """
    allow(Resource(agent_id=agent_id, orchestrator_id=orchestrator_id))
    if principal().is_root or "orchestrators" not in principal().constraints:
        return
    rt = services().runtime
    card = await rt.store.run(lambda: agent_store.load(agent_id))
    if card is not None and card.orchestrator_id is not None:
        allow(Resource(orchestrator_id=card.orchestrator_id))
