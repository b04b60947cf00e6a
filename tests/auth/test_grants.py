"""What a new token may carry: scope and constraint validation, and delegation limits."""

from __future__ import annotations

import pytest

from relay.auth.access import Principal
from relay.auth.grants import check_constraints, check_grantable, check_nameable, check_scope
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
