"""What a new token may carry: scope and constraint validation, and delegation limits."""

from __future__ import annotations

import pytest

from relay.auth.access import Principal
from relay.auth.grants import (
    check_acting,
    check_constraints,
    check_grantable,
    check_nameable,
    check_scope,
)
from relay.domain.agents import Placement
from relay.errors import Forbidden, Invalid

ALL_SCOPES = (
    "agent:read, agent:write, command:read, command:write, config:read, config:write, "
    "activity:read, activity:write, token:admin, message:read, message:write, task:read, "
    "task:write, memory:read, memory:write"
)


def test_scope_is_deduplicated_in_order() -> None:
    assert check_scope(["agent:read", "command:read", "agent:read"]) == (
        "agent:read",
        "command:read",
    )


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ([], "scope must not be empty"),
        (["agent:read", "agent:admin"], f'unknown scope "agent:admin"; scopes are {ALL_SCOPES}'),
        (["*"], f'unknown scope "*"; scopes are {ALL_SCOPES}'),
    ],
)
def test_bad_scope_is_named(scope: list[str], message: str) -> None:
    with pytest.raises(Invalid) as raised:
        check_scope(scope)
    assert raised.value.message == message


def test_constraints_are_normalised() -> None:
    assert check_constraints(
        {"cwd": ["/srv/a/../b/", "/srv/b"], "agents": ["x", "x", "y"], "orchestrators": []}
    ) == {"cwd": ["/srv/b"], "agents": ["x", "y"], "orchestrators": []}


@pytest.mark.parametrize(
    ("constraints", "message"),
    [
        (
            {"repos": ["x"]},
            'unknown constraint "repos"; constraints are '
            "agents, orchestrators, cwd, policyNames, spawnRequestIds",
        ),
        ({"agents": [""]}, "constraints.agents entries must not be empty"),
        ({"cwd": ["srv/a"]}, "constraints.cwd entries must be absolute paths"),
        (
            {"policyNames": ["p" * 1025]},
            "constraints.policyNames entries must be at most 1024 characters",
        ),
    ],
)
def test_bad_constraints_are_named(constraints: dict[str, list[str]], message: str) -> None:
    with pytest.raises(Invalid) as raised:
        check_constraints(constraints)
    assert raised.value.message == message


def admin(scope: tuple[str, ...], constraints: dict[str, list[str]] | None = None) -> Principal:
    return Principal(
        sub="admin", role="dashboard", scope=frozenset(scope), constraints=constraints or {}
    )


def test_root_may_grant_anything() -> None:
    check_grantable(Principal.root(), ["token:admin", "config:write"], {})


def test_grantor_may_grant_what_it_holds_within_its_constraints() -> None:
    grantor = admin(("token:admin", "agent:read"), {"cwd": ["/srv"], "agents": ["a", "b"]})
    check_grantable(grantor, ["agent:read"], {"cwd": ["/srv/x"], "agents": ["a"]})


@pytest.mark.parametrize(
    ("scope", "constraints", "message"),
    [
        (
            ["agent:read", "config:write"],
            {"cwd": ["/srv"], "agents": ["a"]},
            "cannot grant scope config:write: the caller does not hold it",
        ),
        (
            ["agent:read"],
            {"agents": ["a"]},
            "cannot grant cwd beyond the caller's own cwd constraint",
        ),
        (
            ["agent:read"],
            {"cwd": ["/srv/../etc"], "agents": ["a"]},
            "cannot grant cwd beyond the caller's own cwd constraint",
        ),
        (
            ["agent:read"],
            {"cwd": ["/srv"], "agents": ["a", "c"]},
            "cannot grant agents beyond the caller's own agents constraint",
        ),
    ],
)
def test_grantor_cannot_widen(
    scope: list[str], constraints: dict[str, list[str]], message: str
) -> None:
    grantor = admin(("token:admin", "agent:read"), {"cwd": ["/srv"], "agents": ["a", "b"]})
    with pytest.raises(Forbidden) as raised:
        check_grantable(grantor, scope, constraints)
    assert raised.value.message == message


@pytest.mark.parametrize(
    "sub", ["root", "relay", "orchestrator:o2", "mcp:a2", "alice", "admin2", "admins:x"]
)
def test_a_constrained_grantor_cannot_name_a_token_after_another(sub: str) -> None:
    grantor = admin(("token:admin",), {"agents": ["a1"]})
    with pytest.raises(Forbidden, match=f"cannot issue a token named {sub}: a caller"):
        check_nameable(grantor, sub)
    check_nameable(Principal.root(), sub)
    check_nameable(admin(("token:admin",), {}), sub)


def test_a_constrained_grantor_names_its_tokens_after_itself() -> None:
    grantor = admin(("token:admin",), {"agents": ["a1"]})
    for sub in ("admin", "admin:ci-bot", "admin:a:b"):
        check_nameable(grantor, sub)


def grantor(role: str, constraints: dict[str, list[str]]) -> Principal:
    return Principal(
        sub="ops", role=role, scope=frozenset({"token:admin"}), constraints=constraints
    )


PLACEMENTS = {
    "a1": Placement("o1", "/srv/o1/a1"),
    "a2": Placement("o2", "/srv/o2/a2"),
    "free": Placement(None, None),
}


@pytest.mark.parametrize(
    ("by", "role", "constraints", "refused"),
    [
        # A path or a policy bounds no agent: a grantor limited by them alone acts for none.
        (grantor("provider", {"cwd": ["/srv/o1"]}), "provider", {"agents": ["a1"]}, "a1"),
        (grantor("provider", {"policyNames": ["p"]}), "mcp", {"agents": ["a2"]}, "a2"),
        # Limited to o1: an operator acts for o1's agents, not o2's nor one of no host.
        (grantor("dashboard", {"orchestrators": ["o1"]}), "provider", {"agents": ["a2"]}, "a2"),
        (grantor("dashboard", {"orchestrators": ["o1"]}), "r", {"agents": ["free"]}, "free"),
        (grantor("orchestrator", {"orchestrators": ["o1"]}), "r", {"agents": ["a1"]}, None),
        (grantor("orchestrator", {"orchestrators": ["o1"]}), "r", {"agents": ["free"]}, "free"),
        (grantor("provider", {"orchestrators": ["o1"]}), "r", {"agents": ["a1"]}, "a1"),
        (grantor("provider", {"agents": ["a1", "a2"]}), "r", {"agents": ["a2"]}, None),
        (grantor("provider", {"agents": ["a1"], "cwd": ["/srv"]}), "r", {"agents": ["a1"]}, None),
        # A path limit is judged on where each agent works, as stored.
        (
            grantor("provider", {"agents": ["a1"], "cwd": ["/srv/o2"]}),
            "r",
            {"agents": ["a1"]},
            "a1",
        ),
        (grantor("dashboard", {"cwd": ["/srv/o1"]}), "mcp", {"agents": ["a1"]}, None),
        (grantor("dashboard", {"cwd": ["/srv/o1"]}), "mcp", {"agents": ["a2"]}, "a2"),
        (grantor("dashboard", {"cwd": ["/"]}), "mcp", {"agents": ["free"]}, "free"),
    ],
)
def test_a_constrained_grantor_grants_only_agents_it_acts_for(
    by: Principal, role: str, constraints: dict[str, list[str]], refused: str | None
) -> None:
    if refused is None:
        check_acting(by, role, constraints, PLACEMENTS)
        return
    with pytest.raises(Forbidden) as raised:
        check_acting(by, role, constraints, PLACEMENTS)
    assert raised.value.message == f"cannot grant agent {refused}: the caller does not act for it"


@pytest.mark.parametrize(
    ("by", "role", "constraints", "allowed"),
    [
        (grantor("provider", {"cwd": ["/srv/o1"]}), "dashboard", {"cwd": ["/srv/o1"]}, False),
        (
            grantor("provider", {"orchestrators": ["o1"]}),
            "orchestrator",
            {"orchestrators": ["o1"]},
            False,
        ),
        (grantor("dashboard", {"cwd": ["/srv/o1"]}), "dashboard", {"cwd": ["/srv/o1"]}, True),
        (
            grantor("dashboard", {"orchestrators": ["o1"]}),
            "orchestrator",
            {"orchestrators": ["o1"]},
            True,
        ),
        (
            grantor("orchestrator", {"orchestrators": ["o1"]}),
            "orchestrator",
            {"orchestrators": ["o1"]},
            True,
        ),
        (
            grantor("orchestrator", {"orchestrators": ["o1"]}),
            "dashboard",
            {"orchestrators": ["o1"]},
            False,
        ),
        # Roles that act for no agent without ``agents`` are the grantor's to hand out.
        (grantor("provider", {"cwd": ["/srv/o1"]}), "provider", {"cwd": ["/srv/o1"]}, True),
        (grantor("provider", {"cwd": ["/srv/o1"]}), "orchestrator", {"cwd": ["/srv/o1"]}, True),
    ],
)
def test_a_constrained_grantor_grants_a_role_acting_for_agents_only_as_widely(
    by: Principal, role: str, constraints: dict[str, list[str]], allowed: bool
) -> None:
    if allowed:
        check_acting(by, role, constraints, PLACEMENTS)
        return
    with pytest.raises(Forbidden, match=f"cannot grant role {role} without agents"):
        check_acting(by, role, constraints, PLACEMENTS)


def test_root_and_unconstrained_grantors_grant_any_agent_and_role() -> None:
    for by in (Principal.root(), grantor("provider", {})):
        check_acting(by, "dashboard", {}, PLACEMENTS)
        check_acting(by, "provider", {"agents": ["a2", "unknown"]}, PLACEMENTS)
