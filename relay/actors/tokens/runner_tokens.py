"""Runner tokens: minted for a spawned session, re-minted through its orchestrator.

A runner whose token expired while the relay was unreachable cannot renew it
itself (a dead token authenticates nothing). Its orchestrator, which holds a
standing credential, presents the expired token instead: the signature proves
which runner it is, the orchestrator's authorization is the permission, and
nothing but a non-revoked runner token of that orchestrator, dead for at most
30 days, rides that path.
"""

from __future__ import annotations

from collections.abc import Callable

from relay.actors.runtime.audit import write_audited
from relay.actors.runtime.context import Runtime
from relay.actors.tokens.issuing import GRACE_MS, deny, issue
from relay.auth.access import Principal
from relay.auth.authenticator import Authenticator
from relay.auth.profiles import ORCHESTRATOR, PROVIDER_AGENT
from relay.auth.tokens import REMINT_MAX_EXPIRED_SECONDS, TokenSpec
from relay.domain.activity import ActivityInput
from relay.domain.tokens import Claims, TokenRecord
from relay.errors import Forbidden, Unauthorized
from relay.store import agents as agent_store
from relay.store import tokens as token_store

RUNNER_PREFIX = "runner:"
RUNNER_ROLE = "provider"

INVALID = "invalid or revoked runner token"
NOT_RUNNER = "not a runner token"
NOT_OWNED = "runner token not owned by this orchestrator"
TOO_OLD = "runner token expired too long ago"


def runner_spec(
    orchestrator_id: str, spawn_request_id: str, agent_id: str, *, ttl_seconds: int
) -> TokenSpec:
    """The token a session spawned by ``orchestrator_id`` as agent ``agent_id`` runs with.

    Bound to that agent as well as to its orchestrator: a token limited by orchestrator
    alone covers every agent registered there, so one session could heartbeat, steer or
    take the command queue (a sibling's restart carries a fresh runner token) of every
    other session on its host. With ``agents`` naming it, the session is that agent (the
    sender rule sends as it) and touches nothing else.
    """
    return TokenSpec(
        sub=f"{RUNNER_PREFIX}{spawn_request_id}",
        role=RUNNER_ROLE,
        scope=PROVIDER_AGENT.scope,
        constraints={"orchestrators": [orchestrator_id], "agents": [agent_id]},
        ttl_seconds=ttl_seconds,
    )


async def mint_runner_token(
    auth: Authenticator,
    rt: Runtime,
    *,
    orchestrator_id: str,
    spawn_request_id: str,
    agent_id: str,
    created_by: str | None = None,
) -> tuple[str, TokenRecord]:
    """Mint and record the runner token for a spawn (trio side); returns ``(token, record)``.

    ``sub`` is ``runner:<spawn_request_id>``, role ``provider``, the provider-agent
    scopes, ``constraints == {orchestrators: [orchestrator_id], agents: [agent_id]}``
    (``runner_spec``), lifetime ``settings.token_ttl_seconds``.

    Raises:
        Unavailable: the store did not answer in time.
    """
    spec = runner_spec(
        orchestrator_id, spawn_request_id, agent_id, ttl_seconds=rt.settings.token_ttl_seconds
    )
    return await issue(
        auth,
        rt,
        spec,
        profile_id=PROVIDER_AGENT.id,
        created_by=created_by or f"spawn:{orchestrator_id}",
    )


def is_runner(caller: Principal) -> bool:
    """Whether the caller is a spawned session's runner token (never root)."""
    return not caller.is_root and caller.sub.startswith(RUNNER_PREFIX)


def receives_runner_tokens(caller: Principal) -> bool:
    """Whether a caller is handed runner tokens (a spawn's or restart's, in the commands it
    takes; a re-mint's): root, or an ``orchestrator``-role token, the daemon that starts
    the sessions. A runner token carries the provider-agent scopes, which a caller of
    another role (an unconstrained tool holding ``command:read``) need not hold; who may
    issue the role holds them all (``grants.check_host_role``)."""
    return caller.is_root or caller.role == ORCHESTRATOR.role


def check_remint_caller(caller: Principal) -> None:
    """Only an orchestrator's standing credential (or root) re-mints; a runner renews itself,
    and a caller of another role is handed no runner token (``receives_runner_tokens``).

    Raises:
        Forbidden: "forbidden" when the caller is a runner token or not a host's.
    """
    if is_runner(caller) or not receives_runner_tokens(caller):
        raise Forbidden("forbidden")


def check_runner_token(claims: Claims, *, orchestrator_id: str, now_s: int) -> None:
    """Whether ``orchestrator_id`` may re-mint the runner token with these claims.

    Raises:
        Forbidden: "not a runner token", "runner token not owned by this orchestrator",
            or "runner token expired too long ago".
    """
    if claims.role != RUNNER_ROLE or not claims.sub.startswith(RUNNER_PREFIX):
        raise Forbidden(NOT_RUNNER)
    if orchestrator_id not in claims.constraints.get("orchestrators", ()):
        raise Forbidden(NOT_OWNED)
    if now_s - claims.exp > REMINT_MAX_EXPIRED_SECONDS:
        raise Forbidden(TOO_OLD)


async def _session_agent(rt: Runtime, orchestrator_id: str, spawn_request_id: str) -> str | None:
    """The agent registered under ``orchestrator_id`` by the session of this spawn request."""
    cards = await rt.store.run(lambda: agent_store.list_cards(orchestrator_id=orchestrator_id))
    found = [c.id for c in cards if c.meta.get("spawnRequestId") == spawn_request_id]
    return found[0] if len(found) == 1 else None


async def remint_runner_token(
    auth: Authenticator,
    rt: Runtime,
    presented: str,
    *,
    orchestrator_id: str,
    audit_of: Callable[[TokenRecord, Claims], ActivityInput] | None = None,
) -> tuple[str, TokenRecord, Claims]:
    """Replace a runner's (possibly expired) token with a fresh one.

    The new token clones the old one's sub, scope and constraints with a fresh
    ``jti`` and the normal lifetime (a token minted before runner tokens named their agent
    gains ``agents: [the agent its session registered]``, or is refused); the old ``jti``
    is revoked in the same store write, so presenting the old token again fails;
    ``audit_of(record, old_claims)``, if given, is the audit row of that same write.

    Returns:
        ``(token, record, old_claims)``.

    Raises:
        Forbidden: one of the four reasons (see ``check_runner_token``, and
            "invalid or revoked runner token").
        Unavailable: the store did not answer in time.
    """
    try:
        old = auth.verify_allow_expired(presented)
    except Unauthorized:
        raise Forbidden(INVALID) from None
    check_runner_token(old, orchestrator_id=orchestrator_id, now_s=auth.now_s())
    constraints = old.constraints
    if "agents" not in constraints:
        # Minted before runner tokens were bound to their agent: bound now, to the agent
        # its session registered (meta.spawnRequestId), or not renewed at all.
        agent_id = await _session_agent(rt, orchestrator_id, old.sub.removeprefix(RUNNER_PREFIX))
        if agent_id is None:
            raise Forbidden(INVALID)
        constraints = {**constraints, "agents": [agent_id]}
    token, claims = auth.mint(
        TokenSpec(
            sub=old.sub,
            role=RUNNER_ROLE,
            scope=old.scope,
            constraints=constraints,
            ttl_seconds=rt.settings.token_ttl_seconds,
        )
    )
    record = TokenRecord.of(
        claims, profile_id=PROVIDER_AGENT.id, created_by=f"orchestrator-remint:{orchestrator_id}"
    )
    now_ms = rt.clock.now_ms()
    try:
        replaced = await write_audited(
            rt,
            lambda: token_store.replace(
                old.jti, old_expires_at=old.exp * 1000, new=record, now_ms=now_ms, grace_ms=GRACE_MS
            ),
            # No row when nothing was replaced (a replay): the write changed nothing.
            lambda done: [audit_of(record, old)] if done and audit_of is not None else [],
        )
    except token_store.Conflict:
        replaced = False  # another relay process revoked it first
    if not replaced:
        raise Forbidden(INVALID)
    deny(auth, rt, old.jti)
    return token, record, old
