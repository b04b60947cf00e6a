"""Who acts for an agent (messaging.md, "Scopes and identity"): one rule for every route,
the stream and MCP."""

from __future__ import annotations

import pytest

from relay.auth.access import Principal, acts_for, own_agent


def token(role: str, **constraints: list[str]) -> Principal:
    return Principal(sub="t", role=role, scope=frozenset(), constraints=dict(constraints))


@pytest.mark.parametrize(
    ("caller", "agent", "orchestrator", "allowed"),
    [
        (Principal.root(), "a1", "o1", True),
        (token("dashboard"), "a1", "o1", True),
        (token("dashboard", cwd=["/srv"]), "a1", "o1", True),  # cwd does not limit agents
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
    assert acts_for(caller, agent, orchestrator) is allowed


def test_own_agent_is_the_one_agent_a_token_names() -> None:
    assert own_agent(token("mcp", agents=["a1"])) == "a1"
    assert own_agent(token("mcp", agents=["a1", "a2"])) is None
    assert own_agent(token("mcp")) is None
    assert own_agent(Principal.root()) is None
