"""Token routes: admin issue/list/revoke, self-renewal, and the orchestrator's runner re-mint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import Field
from quart import Blueprint, g, request
from quart_schema import document_request

from relay.actors.tokens import issuing
from relay.actors.tokens.runner_tokens import check_remint_caller, remint_runner_token
from relay.auth.grants import (
    check_constraints,
    check_grantable,
    check_host_role,
    check_nameable,
    check_scope,
)
from relay.auth.profiles import PROFILES
from relay.auth.tokens import MAX_TOKEN_CHARS, MAX_TTL_SECONDS, TokenSpec
from relay.domain.activity import ActivityInput
from relay.domain.tokens import TokenRecord
from relay.errors import Forbidden, Invalid, NotFound
from relay.http import responses
from relay.http.auth import SCOPE_ATTRIBUTE, principal, requires
from relay.http.contract import int_param, responds, str_param
from relay.http.orchestrator_auth import allow_orchestrator_report
from relay.http.services import services
from relay.http.token_auth import allow_issuing, limited_token_admin, may_manage_token
from relay.http.validation import Body, parse_body, query_int, query_str
from relay.store import orchestrators as orchestrator_store
from relay.store import tokens as token_store

bp = Blueprint("tokens", __name__)

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

# The scope declared by routes any authenticated caller may use (no scope needed).
AUTHENTICATED = "authenticated"
MAX_JTI_CHARS = 64

ProfileId = Literal["provider-agent", "orchestrator", "integration", "dashboard", "mcp"]
ConstraintValues = Annotated[list[str], Field(max_length=1000)]


def authenticated(view: F) -> F:
    """Authenticate the caller (401) without asking for a scope."""

    @wraps(view)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.principal = services().auth.authenticate(request.headers.get("Authorization"))
        g.scope = AUTHENTICATED
        return await view(*args, **kwargs)

    setattr(wrapper, SCOPE_ATTRIBUTE, AUTHENTICATED)
    return cast(F, wrapper)


class CreateTokenBody(Body):
    sub: str = Field(min_length=1, max_length=200)
    role: str | None = Field(default=None, min_length=1, max_length=64)
    scope: list[str] | None = Field(default=None, max_length=100)
    constraints: dict[str, ConstraintValues] | None = None
    ttl_seconds: int | None = Field(default=None, ge=1, le=MAX_TTL_SECONDS)
    profile: ProfileId | None = None


class RunnerTokenBody(Body):
    token: str = Field(min_length=1, max_length=MAX_TOKEN_CHARS)


def _spec(body: CreateTokenBody, default_ttl: int) -> TokenSpec:
    """The token the body asks for: the profile's role and scopes unless given."""
    profile = PROFILES[body.profile] if body.profile else None
    role = body.role or (profile.role if profile else None)
    if role is None:
        raise Invalid("role is required")
    if role == "root":
        raise Invalid("role root is reserved for the root credential")
    scope = body.scope if body.scope is not None else (profile.scope if profile else None)
    if scope is None:
        raise Invalid("scope is required")
    return TokenSpec(
        sub=body.sub,
        role=role,
        scope=check_scope(scope),
        constraints=check_constraints(body.constraints or {}),
        ttl_seconds=body.ttl_seconds or default_ttl,
    )


def security_event(title: str, sub: str | None, called_by: str, **metadata: Any) -> ActivityInput:
    """A security event (view ``security``), written in the commit of the token change.

    A token change and its audit row commit together: a failed audit fails the change
    (503, nothing issued or revoked in the store) instead of leaving it unaudited. Built
    inside the store job, so it is given the caller rather than reading the request's.
    """
    return ActivityInput(
        kind="security",
        title=title,
        body=sub,
        icon="ti-key",
        view="security",
        metadata={**metadata, "sub": sub, "calledBy": called_by},
    )


def issued_response(token: str, record: TokenRecord) -> tuple[dict[str, Any], int]:
    return {"token": token, "record": record.to_json()}, 201


@bp.post("/api/tokens")
@responds({201: responses.IssuedToken})
@document_request(CreateTokenBody)
@requires("token:admin")
async def create_token() -> tuple[dict[str, Any], int]:
    body = await parse_body(CreateTokenBody)
    svc, caller = services(), principal()
    spec = _spec(body, svc.runtime.settings.token_ttl_seconds)
    check_grantable(caller, spec.scope, spec.constraints)
    check_nameable(caller, spec.sub)
    await allow_issuing(spec.role, spec.constraints)
    check_host_role(caller, spec.role)
    token, record = await issuing.issue(
        svc.auth,
        svc.runtime,
        spec,
        profile_id=body.profile,
        created_by=caller.sub,
        audit_of=lambda issued: security_event(
            "Token issued",
            issued.sub,
            caller.sub,
            jti=issued.jti,
            role=issued.role,
            scope=list(issued.scope),
        ),
    )
    return issued_response(token, record)


@bp.get("/api/tokens")
@responds(
    list[responses.TokenRecord],
    query=(str_param("sub", 200), int_param("limit", 1, 5000)),
)
@requires("token:admin")
async def list_tokens() -> list[dict[str, Any]]:
    sub = query_str("sub", max_length=200)
    limit = query_int("limit", 500, low=1, high=5000)
    # A constrained caller's records are filtered before the page is cut, not after.
    limited = limited_token_admin()
    records = await services().runtime.store.run(
        lambda: token_store.list_records(sub=sub, limit=None if limited else limit)
    )
    return [record.to_json() for record in records if may_manage_token(record)][:limit]


@bp.delete("/api/tokens/<jti>")
@responds(responses.RevokedToken, errors=(400,))
@requires("token:admin")
async def revoke_token(jti: str) -> dict[str, Any]:
    if len(jti) > MAX_JTI_CHARS:
        raise Invalid(f"jti must be at most {MAX_JTI_CHARS} characters")
    svc = services()
    if limited_token_admin():
        stored = await svc.runtime.store.run(lambda: token_store.load(jti))
        if not may_manage_token(stored):
            raise Forbidden("forbidden")
    caller = principal().sub  # the audit row is built in the store job, away from the request
    record = await issuing.revoke(
        svc.auth,
        svc.runtime,
        jti,
        audit_of=lambda revoked: security_event(
            "Token revoked", revoked.sub if revoked else None, caller, jti=jti
        ),
    )
    return {"ok": True, "jti": jti, "record": record.to_json() if record else None}


@bp.post("/api/runtime-tokens/renew")
@responds({201: responses.IssuedToken}, errors=(400,))
@authenticated
async def renew_token() -> tuple[dict[str, Any], int]:
    svc = services()
    return issued_response(*await issuing.renew(svc.auth, svc.runtime, principal()))


@bp.post("/api/orchestrators/<orchestrator_id>/runner-token")
@responds({201: responses.IssuedToken})
@document_request(RunnerTokenBody)
@requires("command:write")
async def remint_runner(orchestrator_id: str) -> tuple[dict[str, Any], int]:
    await allow_orchestrator_report(orchestrator_id)  # the orchestrator itself, not a token near it
    check_remint_caller(principal())
    body = await parse_body(RunnerTokenBody)
    svc = services()
    if await svc.runtime.store.run(lambda: orchestrator_store.load(orchestrator_id)) is None:
        raise NotFound("orchestrator not found")
    caller = principal().sub  # the audit row is built in the store job, away from the request
    token, record, _old = await remint_runner_token(
        svc.auth,
        svc.runtime,
        body.token,
        orchestrator_id=orchestrator_id,
        audit_of=lambda minted, old: security_event(
            "Runner token re-minted",
            minted.sub,
            caller,
            orchestratorId=orchestrator_id,
            jti=old.jti,
            newJti=minted.jti,
        ),
    )
    return issued_response(token, record)
