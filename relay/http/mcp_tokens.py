"""``POST /api/agents/:id/mcp-token``: mint the token an agent's MCP client sends.

Long-lived (``RELAY_MCP_TOKEN_TTL_SECONDS``, 30 days) because ``.mcp.json`` headers are
static; bound to the one agent (``constraints.agents``), which ``POST /mcp`` requires.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from quart import Blueprint, request
from quart_schema import document_request

from relay.actors.tokens import issuing
from relay.auth.access import Principal
from relay.auth.grants import may_grant
from relay.auth.profiles import MCP
from relay.auth.tokens import MAX_TTL_SECONDS, TokenSpec
from relay.errors import Forbidden, NotFound
from relay.http import responses
from relay.http.auth import (
    AUTHENTICATED,
    agent_orchestrators,
    allow_acting_for,
    principal,
    requires,
)
from relay.http.contract import responds
from relay.http.services import services
from relay.http.tokens import issued_response, security_event
from relay.http.validation import Body, parse_body

bp = Blueprint("mcp_tokens", __name__)


class McpTokenBody(Body):
    ttl_seconds: int | None = Field(default=None, ge=60, le=MAX_TTL_SECONDS)


async def allow_minting_for(agent_id: str) -> None:
    """Root and an unconstrained ``token:admin`` mint for any agent (404 for an unknown
    one); a constrained ``token:admin`` for an agent it acts for (``allow_acting_for``: 403,
    or 404 for an unknown one it would act for) whose token its constraints may grant
    (``grants.may_grant``); an orchestrator for the agents it acts for; nobody else.

    The minted token acts for the agent, so its minter must too, judged as the inbox
    routes judge it: a ``token:admin`` limited by path alone may grant ``{agents: [id],
    cwd: [its prefixes]}``, which its path does not bound, though it acts for no agent.
    A ``token:admin`` limited by orchestrator cannot hand out ``{agents: [id]}`` at all:
    it mints only as an orchestrator acting for it.
    """
    caller = principal()
    if caller.has_scope("token:admin") and not caller.constrained:
        if agent_id not in await agent_orchestrators([agent_id]):
            raise NotFound("agent not found")
        return
    grants = caller.has_scope("token:admin") and may_grant(
        caller, mcp_constraints(agent_id, caller)
    )
    if not grants and caller.role != "orchestrator":
        raise Forbidden("forbidden")
    await allow_acting_for(agent_id)


def mcp_scope(minter: Principal) -> tuple[str, ...]:
    """The ``mcp`` profile's scopes the minter holds (root: all of them), as a registration
    hands a runtime token the orchestrator profile's scopes it holds: a token grants no
    scope it lacks, here as on ``POST /api/tokens``. A minter holding none of them would
    hand out a token no tool accepts: 403."""
    scope = tuple(entry for entry in MCP.scope if minter.has_scope(entry))
    if not scope:
        raise Forbidden("cannot grant an MCP token: the caller holds none of its scopes")
    return scope


def mcp_constraints(agent_id: str, minter: Principal) -> dict[str, list[str]]:
    """The one agent, and the minter's ``cwd`` prefixes and ``orchestrators`` if it has
    any: the session's token reaches no path its minter could not (repo memories are
    judged by them), and no longer acts for the agent once it is moved to a host its
    minter does not cover (``acts_for`` judges the agent's stored orchestrator)."""
    constraints = {"agents": [agent_id]}
    for kind in ("cwd", "orchestrators"):
        limit = minter.constraints.get(kind)
        if limit is not None:
            constraints[kind] = list(limit)
    return constraints


@bp.post("/api/agents/<agent_id>/mcp-token")
@responds({201: responses.IssuedToken}, body_optional=True)
@document_request(McpTokenBody)
@requires(AUTHENTICATED)
async def mint_mcp_token(agent_id: str) -> tuple[dict[str, Any], int]:
    await allow_minting_for(agent_id)
    svc, minter = services(), principal()
    scope = mcp_scope(minter)
    has_body = bool((await request.get_data(cache=True)).strip())
    body = await parse_body(McpTokenBody) if has_body else McpTokenBody()
    caller = minter.sub
    spec = TokenSpec(
        sub=f"mcp:{agent_id}",
        role=MCP.role,
        scope=scope,
        constraints=mcp_constraints(agent_id, minter),
        ttl_seconds=body.ttl_seconds or svc.runtime.settings.mcp_token_ttl_seconds,
    )
    token, record = await issuing.issue(
        svc.auth,
        svc.runtime,
        spec,
        profile_id=MCP.id,
        created_by=caller,
        audit_of=lambda issued: security_event(
            "MCP token issued", issued.sub, caller, jti=issued.jti, agentId=agent_id
        ),
    )
    return issued_response(token, record)
