"""Scopes and constraints as pure rules: ``path_within``, ``covers``, ``authorize``."""

from __future__ import annotations

import pytest

from relay.auth.access import (
    Principal,
    Resource,
    authorize,
    covers,
    normalise_path,
    path_within,
)
from relay.errors import Forbidden


def token(
    scope: tuple[str, ...] = (), constraints: dict[str, list[str]] | None = None
) -> Principal:
    return Principal(
        sub="c", role="provider", scope=frozenset(scope), constraints=constraints or {}
    )


@pytest.mark.parametrize(
    ("path", "prefix", "within"),
    [
        ("/srv/a", "/srv/a", True),
        ("/srv/a/", "/srv/a", True),
        ("/srv/a/x", "/srv/a", True),
        ("/srv/a/x/y", "/srv/a/", True),
        ("/srv/a/./x", "/srv/a", True),
        ("/srv/a//x", "/srv/a", True),
        ("/srv/a/x/..", "/srv/a", True),
        ("/srv/ab", "/srv/a", False),
        ("/srv/a-b", "/srv/a", False),
        ("/srv/a/../b", "/srv/a", False),
        ("/srv/a/..", "/srv/a", False),
        ("/srv/a/x/../../b", "/srv/a", False),
        ("/srv/a/../../../srv/b", "/srv/a", False),
        ("/srv", "/srv/a", False),
        ("/", "/srv/a", False),
        ("/anything", "/", True),
        ("/srv/a", "/srv/a/x/..", True),
        ("srv/a/x", "/srv/a", True),
        ("../srv/a/x", "/srv/a", True),
        ("/srv/A", "/srv/a", False),
        ("//srv/a/x", "/srv/a", True),
        ("///srv/a", "/srv/a", True),
        ("/srv/a/x", "//srv/a", True),
        ("//srv/b", "/srv/a", False),
        ("//", "/srv/a", False),
    ],
)
def test_path_within(path: str, prefix: str, within: bool) -> None:
    assert path_within(path, prefix) is within


@pytest.mark.parametrize(
    ("given", "normal"),
    [("//srv/one", "/srv/one"), ("///", "/"), ("//", "/"), ("srv//a/", "/srv/a"), ("/", "/")],
)
def test_normalise_path_has_one_leading_slash(given: str, normal: str) -> None:
    assert normalise_path(given) == normal


@pytest.mark.parametrize(
    ("cwd", "covered"),
    [
        ("/srv/a", True),
        ("/srv/a/x", True),
        ("/work/b/deep/er", True),
        ("/srv/ab", False),
        ("/srv/a/../b", False),
        ("/work", False),
        ("/etc/passwd", False),
    ],
)
def test_cwd_constraint_covers_paths_below_any_prefix(cwd: str, covered: bool) -> None:
    principal = token(("agent:write",), {"cwd": ["/srv/a", "/work/b"]})
    assert covers(principal, Resource(cwd=cwd)) is covered


@pytest.mark.parametrize(
    ("constraints", "resource", "covered"),
    [
        ({}, Resource(agent_id="a1"), True),
        ({"agents": ["a1"]}, Resource(agent_id="a1"), True),
        ({"agents": ["a1"]}, Resource(agent_id="a2"), False),
        ({"agents": []}, Resource(agent_id="a1"), False),
        ({"agents": ["a1"]}, Resource(), True),
        ({"agents": ["a1"]}, Resource(orchestrator_id="o1"), True),
        ({"orchestrators": ["o1"]}, Resource(orchestrator_id="o1"), True),
        ({"orchestrators": ["o1"]}, Resource(orchestrator_id="o2"), False),
        ({"agents": ["a1"], "orchestrators": ["o1"]}, Resource("a1", "o1"), True),
        ({"agents": ["a1"], "orchestrators": ["o1"]}, Resource("a1", "o2"), False),
        ({"agents": ["a1"], "orchestrators": ["o1"]}, Resource("a2", "o1"), False),
        ({"policyNames": ["p"]}, Resource(policy_name="p"), True),
        ({"policyNames": ["p"]}, Resource(policy_name="q"), False),
        ({"spawnRequestIds": ["sp_1"]}, Resource(spawn_request_id="sp_1"), True),
        ({"spawnRequestIds": ["sp_1"]}, Resource(spawn_request_id="sp_2"), False),
        ({"agents": ["a1"]}, Resource(agent_id="a1x"), False),
    ],
)
def test_covers_each_named_resource(
    constraints: dict[str, list[str]], resource: Resource, covered: bool
) -> None:
    assert covers(token((), constraints), resource) is covered


def test_root_covers_everything() -> None:
    everything = Resource("a", "o", "/etc", "p", "sp")
    assert covers(Principal.root(), everything)


def test_authorize_without_the_scope_is_forbidden() -> None:
    with pytest.raises(Forbidden, match=r"^forbidden$"):
        authorize(token(("agent:read",)), "agent:write")


def test_authorize_with_the_scope_but_not_the_resource_is_forbidden() -> None:
    with pytest.raises(Forbidden, match=r"^forbidden$"):
        authorize(
            token(("agent:write",), {"agents": ["a1"]}), "agent:write", Resource(agent_id="a2")
        )


def test_authorize_with_scope_and_resource_passes() -> None:
    authorize(token(("agent:write",), {"agents": ["a1"]}), "agent:write", Resource(agent_id="a1"))


def test_root_holds_every_scope() -> None:
    authorize(Principal.root(), "token:admin", Resource(agent_id="anything"))
