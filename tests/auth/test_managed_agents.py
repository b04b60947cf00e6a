"""Which sessions of an orchestrator's card a caller reads (``shows_managed_agent``): the
agents it reads, where they are stored; the card itself is cut by ``keeping_managed``."""

from __future__ import annotations

from typing import Any

import pytest

from relay.auth.access import Principal, redacts_managed_agents, shows_managed_agent
from relay.domain.agents import Placement
from relay.domain.orchestrators import keeping_managed


def token(role: str = "dashboard", sub: str = "t", **constraints: list[str]) -> Principal:
    return Principal(sub=sub, role=role, scope=frozenset(), constraints=dict(constraints))


RUNTIME = token("orchestrator", "orchestrator:o1", orchestrators=["o1"], cwd=["/srv/o1"])
NEAR = Placement("o1", "/srv/o1/x")
FAR = Placement("o2", "/srv/o2")
NOWHERE = Placement("o1", None)


@pytest.mark.parametrize(
    ("caller", "redacts"),
    [
        (Principal.root(), False),
        (token(), False),
        (token(policyNames=["p"]), False),
        (token(cwd=["/srv/o1"]), True),
        (token(orchestrators=["o1"]), True),
        (token(agents=["a1"]), True),
        (RUNTIME, True),
    ],
)
def test_who_reads_cards_redacted(caller: Principal, redacts: bool) -> None:
    assert redacts_managed_agents(caller) is redacts


@pytest.mark.parametrize(
    ("caller", "placement", "shown"),
    [
        (token(cwd=["/srv/o1"]), NEAR, True),
        (token(cwd=["/srv/o1"]), FAR, False),
        (token(cwd=["/srv/o1"]), NOWHERE, False),  # a path alone reaches no unknown place
        (token(cwd=["/srv/o1"]), None, False),  # not stored
        (token(orchestrators=["o1"]), NOWHERE, True),
        (token(orchestrators=["o1"]), FAR, False),
        (token(orchestrators=["o1"]), None, False),
        (token(agents=["a1"]), FAR, True),
        (token(agents=["a2"]), NEAR, False),
        (RUNTIME, NEAR, True),
        (RUNTIME, NOWHERE, True),  # its own agent at no recorded place
        (RUNTIME, FAR, False),
    ],
)
def test_an_entry_is_shown_as_its_agent_is_reached_where_stored(
    caller: Principal, placement: Placement | None, shown: bool
) -> None:
    assert shows_managed_agent(caller, "a1", placement) is shown


def card(*agent_ids: Any) -> dict[str, Any]:
    return {"id": "o1", "managedAgents": [{"agentId": a, "sessionName": "s"} for a in agent_ids]}


def test_keeping_managed_cuts_the_entries_only() -> None:
    whole = card("a1", "a2", None)
    cut = keeping_managed(whole, lambda agent_id: agent_id == "a1")
    assert cut == card("a1")
    assert whole == card("a1", "a2", None)  # not changed in place


def test_keeping_every_entry_hands_back_the_card_itself() -> None:
    whole = card("a1", "a2")
    assert keeping_managed(whole, lambda _agent_id: True) is whole
    assert keeping_managed({"id": "o1"}, lambda _agent_id: False) == {"id": "o1"}
