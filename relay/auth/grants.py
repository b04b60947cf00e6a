"""What a new token may carry: known scopes and constraint kinds, and no more than its grantor.

Pure checks over plain values; each raises with the message the client sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from relay.auth.access import (
    CONSTRAINT_KINDS,
    OPERATOR_ROLE,
    Principal,
    acts_for,
    is_operator,
    normalise_path,
    path_within,
)
from relay.auth.profiles import ORCHESTRATOR
from relay.domain.agents import Placement
from relay.domain.tokens import SCOPES
from relay.errors import Forbidden, Invalid

MAX_CONSTRAINT_VALUE_CHARS = 1024


def check_scope(scope: Sequence[str]) -> tuple[str, ...]:
    """The scope list, de-duplicated in order.

    Raises:
        Invalid: empty, or naming a scope that does not exist.
    """
    if not scope:
        raise Invalid("scope must not be empty")
    for entry in scope:
        if entry not in SCOPES:
            raise Invalid(f'unknown scope "{entry}"; scopes are {", ".join(SCOPES)}')
    return tuple(dict.fromkeys(scope))


def check_constraints(constraints: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The constraints, de-duplicated, with ``cwd`` prefixes normalised.

    Raises:
        Invalid: an unknown kind, an empty or over-long value, a relative ``cwd``.
    """
    checked: dict[str, list[str]] = {}
    for kind, values in constraints.items():
        if kind not in CONSTRAINT_KINDS:
            raise Invalid(
                f'unknown constraint "{kind}"; constraints are {", ".join(CONSTRAINT_KINDS)}'
            )
        for value in values:
            if not value:
                raise Invalid(f"constraints.{kind} entries must not be empty")
            if len(value) > MAX_CONSTRAINT_VALUE_CHARS:
                raise Invalid(
                    f"constraints.{kind} entries must be at most "
                    f"{MAX_CONSTRAINT_VALUE_CHARS} characters"
                )
            if kind == "cwd" and not value.startswith("/"):
                raise Invalid("constraints.cwd entries must be absolute paths")
        cleaned = (normalise_path(value) for value in values) if kind == "cwd" else values
        checked[kind] = list(dict.fromkeys(cleaned))
    return checked


def check_grantable(
    grantor: Principal, scope: Iterable[str], constraints: Mapping[str, Sequence[str]]
) -> None:
    """A caller may only hand out what it holds: its scopes, within its own constraints.

    Raises:
        Forbidden: a scope the grantor lacks, or a constraint wider than the grantor's.
    """
    if grantor.is_root:
        return
    for entry in scope:
        if not grantor.has_scope(entry):
            raise Forbidden(f"cannot grant scope {entry}: the caller does not hold it")
    for kind, allowed in grantor.constraints.items():
        granted = constraints.get(kind)
        if granted is None or not all(_within(kind, value, allowed) for value in granted):
            raise Forbidden(f"cannot grant {kind} beyond the caller's own {kind} constraint")


def check_acting(
    grantor: Principal,
    role: str,
    constraints: Mapping[str, Sequence[str]],
    placements: Mapping[str, Placement],
) -> None:
    """A constrained grantor issues no token that acts for an agent (reads its inbox, sends
    as it) it does not act for itself (``access.acts_for``, on where each named agent is
    stored: ``placements``, unknown agents left out). Run after ``check_grantable``, which
    bounds only the constraint kinds the grantor carries.

    Those do not bound whom a token acts for: one naming an agent acts for it wherever its
    paths cover the agent's stored cwd; an operator's token, or an orchestrator's limited
    by orchestrator, acts for every agent its constraints cover. So a grantor limited by
    path or policy alone (which acts for no agent, unless an operator's) issues no
    agent-bound token, and only a grantor acting as widely issues such a role without
    ``agents``.

    Raises:
        Forbidden: a named agent the grantor does not act for, or a role acting more widely.
    """
    if not grantor.constrained:
        return
    agents = constraints.get("agents")
    if agents is not None:
        for agent_id in agents:
            if not acts_for(grantor, agent_id, placements.get(agent_id)):
                raise Forbidden(f"cannot grant agent {agent_id}: the caller does not act for it")
        return
    if not _acts_as_widely(grantor, role, constraints):
        raise Forbidden(
            f"cannot grant role {role} without agents: the caller does not act as widely"
        )


def _acts_as_widely(
    grantor: Principal, role: str, constraints: Mapping[str, Sequence[str]]
) -> bool:
    """Whether a token of ``role`` with no ``agents`` acts for no agent the grantor does not:
    an operator's token acts for every agent it covers (within the grantor's cover, which
    ``check_grantable`` saw to), an orchestrator's for those of its orchestrators, those
    recording no cwd included (which no path-limited operator acts for)."""
    if role == OPERATOR_ROLE:
        return is_operator(grantor)
    if role != "orchestrator" or "orchestrators" not in constraints:
        return True  # acts for no agent (``acts_for``)
    if is_operator(grantor):
        # Unless limited by path: an orchestrator's token reaches its agents that record no
        # cwd as their host (``access.within_place``), which such an operator does not.
        # Nor by spawn policy or spawn request: a host's token takes its whole queue, the
        # runner tokens of every spawn in it included, which such an operator may not read.
        return grantor.is_root or not any(
            kind in grantor.constraints for kind in ("cwd", "policyNames", "spawnRequestIds")
        )
    held = grantor.constraints.get("orchestrators")
    return (
        grantor.role == "orchestrator"
        and held is not None
        and set(constraints["orchestrators"]) <= set(held)
    )


def check_host_role(grantor: Principal, role: str) -> None:
    """Only root, or a grantor holding every scope of the ``orchestrator`` profile, issues
    the ``orchestrator`` role. Limited to a host, such a token is that host: it takes the
    host's queue, handed the runner tokens of its spawns and restarts (with the
    provider-agent scopes), and registers the host, moving its ``baseDir`` (what path
    limits judge the host by) and locking its daemon out. A caller of another role
    registers a host only holding the whole profile (``allow_orchestrator_registration``);
    minting itself the role must not be the way around that.

    Raises:
        Forbidden: the role asked of a grantor lacking one of those scopes.
    """
    if role != ORCHESTRATOR.role or grantor.is_root:
        return
    missing = [entry for entry in ORCHESTRATOR.scope if not grantor.has_scope(entry)]
    if missing:
        raise Forbidden(
            f"cannot grant role {role}: a host's token reaches {', '.join(missing)}, "
            "which the caller lacks"
        )


def check_nameable(grantor: Principal, sub: str) -> None:
    """A grantor with constraints names a token after itself: its own sub, or one under it
    (``<sub>:<anything>``); one without names it freely.

    What a non-agent principal sent or created is its own by name (``access.is_named``):
    a constrained grantor free to name a token ``root``, ``orchestrator:o2`` or an
    operator's ``alice`` would read what that principal sent, beyond its own constraints.

    Raises:
        Forbidden: a constrained grantor naming a token after anyone else.
    """
    if grantor.is_root or not grantor.constraints:
        return
    if sub == grantor.sub or sub.startswith(f"{grantor.sub}:"):
        return
    raise Forbidden(
        f"cannot issue a token named {sub}: a caller with constraints names its tokens "
        f"{grantor.sub} or {grantor.sub}:<name>"
    )


def may_grant(grantor: Principal, constraints: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``grantor`` could hand out a token with these constraints (``check_grantable``
    with no scope), as a yes or no: who may mint for an agent, or manage a stored token."""
    try:
        check_grantable(grantor, (), constraints)
    except Forbidden:
        return False
    return True


def _within(kind: str, value: str, allowed: Sequence[str]) -> bool:
    if kind == "cwd":
        return any(path_within(value, prefix) for prefix in allowed)
    return value in allowed
