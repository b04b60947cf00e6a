"""Who acts for an agent (messaging.md, "Scopes and identity"): one rule for every route,
the stream and MCP."""

from __future__ import annotations

import pytest

from relay.auth.access import Principal, acts_for, own_agent, reaches, sub_is_agent
from relay.domain.agents import Placement, stored_cwd


def token(role: str, sub: str = "t", **constraints: list[str]) -> Principal:
    return Principal(sub=sub, role=role, scope=frozenset(), constraints=dict(constraints))


@pytest.mark.parametrize(
    ("caller", "agent", "orchestrator", "allowed"),
    [
        (Principal.root(), "a1", "o1", True),
        (token("dashboard"), "a1", "o1", True),
        (token("dashboard", orchestrators=["o2"]), "a1", "o1", False),
        (token("provider", agents=["a1"]), "a1", "o1", True),
        (token("provider", agents=["a1"]), "a2", "o1", False),
        (token("mcp", agents=["a1"], orchestrators=["o2"]), "a1", "o1", False),
        (token("orchestrator", orchestrators=["o1"]), "a1", "o1", True),
        (token("orchestrator", orchestrators=["o1"]), "a1", "o2", False),
        (token("orchestrator", orchestrators=["o1"]), "a1", None, False),
        (token("provider", orchestrators=["o1"]), "a1", "o1", False),  # not an orchestrator
        (token("orchestrator"), "a1", "o1", False),  # unconstrained: acts for no agent
        (token("integration"), "a1", "o1", False),
        (token("scheduler"), "a1", None, False),
    ],
)
def test_acts_for(caller: Principal, agent: str, orchestrator: str | None, allowed: bool) -> None:
    assert acts_for(caller, agent, Placement(orchestrator, "/srv/o1/a1")) is allowed


@pytest.mark.parametrize(
    ("caller", "cwd", "allowed"),
    [
        # A path limit covers the agent's stored working directory, component-wise.
        (token("dashboard", cwd=["/srv/o1"]), "/srv/o1", True),
        (token("dashboard", cwd=["/srv/o1"]), "/srv/o1/x", True),
        (token("dashboard", cwd=["/srv/o1"]), "/srv/o1/x/../../o2", False),
        (token("dashboard", cwd=["/srv/o1"]), "/srv/o2", False),
        (token("dashboard", cwd=["/srv/o1"]), "/srv/o10", False),
        (token("dashboard", cwd=["/srv/o1", "/srv/o2"]), "/srv/o2/y", True),
        # An agent that recorded no working directory is at no place a path covers.
        (token("dashboard", cwd=["/srv/o1"]), None, False),
        (token("dashboard", cwd=["/"]), None, False),
        (token("dashboard", cwd=["/"]), "/anywhere", True),
        # Every kind of caller: an agent's own token, an orchestrator's runtime token.
        (token("mcp", agents=["a1"], cwd=["/srv/o1"]), "/srv/o1/x", True),
        (token("mcp", agents=["a1"], cwd=["/srv/o1"]), "/srv/o2", False),
        (token("orchestrator", orchestrators=["o1"], cwd=["/srv/o1"]), "/srv/o1/x", True),
        (token("orchestrator", orchestrators=["o1"], cwd=["/srv/o1"]), "/srv/o2", False),
        # An agent that recorded none is reached by name, or through its host; never by a
        # path limit alone, nor by an operator limited by orchestrator and path.
        (token("mcp", agents=["a1"], cwd=["/srv/o1"]), None, True),
        (
            token("orchestrator", "orchestrator:o1", orchestrators=["o1"], cwd=["/srv/o1"]),
            None,
            True,
        ),
        # An orchestrator-role token other than the host's runtime token is not its host.
        (token("orchestrator", orchestrators=["o1"], cwd=["/srv/o1"]), None, False),
        (token("dashboard", orchestrators=["o1"], cwd=["/srv/o1"]), None, False),
        # A path limit alone gives no non-operator an agent.
        (token("provider", cwd=["/srv/o1"]), "/srv/o1/x", False),
        # No path limit: the working directory does not matter.
        (token("dashboard"), None, True),
        (Principal.root(), None, True),
    ],
)
def test_a_path_limit_covers_the_agents_stored_working_directory(
    caller: Principal, cwd: str | None, allowed: bool
) -> None:
    assert acts_for(caller, "a1", Placement("o1", cwd)) is allowed


def test_an_agent_not_stored_is_reached_by_name_never_by_a_path() -> None:
    assert acts_for(token("dashboard"), "a1", None)
    assert acts_for(token("provider", agents=["a1"]), "a1", None)
    assert not acts_for(token("dashboard", cwd=["/"]), "a1", None)
    assert acts_for(token("provider", agents=["a1"], cwd=["/"]), "a1", None)


@pytest.mark.parametrize(
    ("meta", "cwd"),
    [
        ({"cwd": "/srv/o1/x"}, "/srv/o1/x"),
        ({}, None),
        ({"cwd": "srv/o1"}, None),  # relative: not read as a path from the root
        ({"cwd": ""}, None),
        ({"cwd": 1}, None),
        ({"cwd": ["/srv/o1"]}, None),
    ],
)
def test_the_stored_working_directory_is_an_absolute_meta_cwd(
    meta: dict[str, object], cwd: str | None
) -> None:
    assert stored_cwd(meta) == cwd


def test_own_agent_is_the_one_agent_a_token_names() -> None:
    assert own_agent(token("mcp", agents=["a1"])) == "a1"
    assert own_agent(token("mcp", agents=["a1", "a2"])) is None
    assert own_agent(token("mcp")) is None
    assert own_agent(Principal.root()) is None


@pytest.mark.parametrize(
    ("caller", "placement", "allowed"),
    [
        # Reaching (reading, managing) needs no role: an integration reaches every agent.
        (token("integration"), Placement("o1", "/srv/o1/x"), True),
        (token("provider", orchestrators=["o1"]), Placement("o1", "/srv/o1/x"), True),
        (token("provider", orchestrators=["o2"]), Placement("o1", "/srv/o1/x"), False),
        (token("dashboard", cwd=["/srv/o1"]), Placement("o1", "/srv/o1/x"), True),
        (token("dashboard", cwd=["/srv/o1"]), Placement("o2", "/srv/o2"), False),
        (token("dashboard", cwd=["/srv/o1"]), Placement("o1", None), False),
        (token("dashboard", cwd=["/srv/o1"]), None, False),  # not stored: at no place
        (token("dashboard", cwd=["/"]), Placement("o1", None), False),
        (token("provider", agents=["a1"], cwd=["/srv/o1"]), Placement("o1", None), True),
        (
            token("orchestrator", "orchestrator:o1", orchestrators=["o1"], cwd=["/srv/o1"]),
            Placement("o1", None),
            True,
        ),  # its host's runtime token
        (
            token("orchestrator", "daemon", orchestrators=["o1"], cwd=["/srv/o1/x"]),
            Placement("o1", None),
            False,
        ),
        (
            token("orchestrator", "orchestrator:o1", orchestrators=["o1"], cwd=["/srv/o1"]),
            Placement(None, None),
            False,
        ),  # a host's runtime token reaches no agent registered under no host by name
        (
            token("orchestrator", "orchestrator:o1", orchestrators=["o1", "o2"], cwd=["/"]),
            Placement("o2", None),
            False,
        ),  # nor one of another host its constraints name
        (
            token("dashboard", "orchestrator:o1", orchestrators=["o1"]),
            Placement("o1", None),
            False,
        ),  # named after the host, but not its runtime token: not the host
    ],
)
def test_reaches_judges_the_stored_place_for_a_path_limited_caller(
    caller: Principal, placement: Placement | None, allowed: bool
) -> None:
    assert reaches(caller, "a1", placement) is allowed


@pytest.mark.parametrize(
    ("role", "constraints", "expected"),
    [
        ("root", {}, False),  # root is itself, never an agent called root
        ("dashboard", {}, False),
        ("dashboard", {"orchestrators": ["o1"]}, False),
        ("orchestrator", {"orchestrators": ["o1"]}, True),
        ("provider", {"agents": ["a1", "a2"]}, True),
    ],
)
def test_an_operators_sub_is_never_an_agent(
    role: str, constraints: dict[str, list[str]], expected: bool
) -> None:
    caller = Principal(
        sub="a1", role=role, scope=frozenset(), constraints=constraints, is_root=role == "root"
    )
    assert sub_is_agent(caller) is expected
