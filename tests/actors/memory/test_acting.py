"""Whom a caller acts for, as the memory rules count it: one rule for the memory routes and
the event stream's guard (``acting.acts_for_memory``), and the Viewer the guard judges an
event with (``visibility.judging``)."""

from __future__ import annotations

from dataclasses import replace

from relay.actors.memory import acting, visibility
from relay.auth.access import OPERATOR_ROLE, Principal
from relay.domain.agents import Placement
from relay.domain.memory import Viewer
from tests.actors.memory.test_visibility import MEMORIES

O1 = Placement("o1", "/srv/one")
O2 = Placement("o2", "/srv/one")


def caller(role: str, **constraints: list[str]) -> Principal:
    return Principal(sub="x", role=role, scope=frozenset(), constraints=dict(constraints))


def test_an_orchestrator_acts_for_the_agents_stored_under_it_now() -> None:
    o1 = caller("orchestrator", orchestrators=["o1"])
    assert acting.acts_for_memory(o1, "a1", O1)
    assert not acting.acts_for_memory(o1, "a1", O2)  # moved away
    assert not acting.acts_for_memory(o1, "a1", None)  # not stored


def test_an_operator_counts_agents_by_what_its_constraints_reach_them_through() -> None:
    assert acting.acts_for_memory(caller(OPERATOR_ROLE, cwd=["/srv"]), "a1", O1)
    assert acting.acts_for_memory(caller(OPERATOR_ROLE, agents=["a1"]), "a1", O1)
    # Limited by something that names no agent, host or path: it acts for none.
    assert not acting.acts_for_memory(caller(OPERATOR_ROLE, policyNames=["p"]), "a1", O1)


def test_judging_asks_about_the_agents_the_memory_names_then_any_one() -> None:
    opened = Viewer(operator=False, agents=frozenset({"a1", "a2"}))
    now = {"a2"}  # a1 moved away since the stream opened
    private = replace(MEMORIES["agent-a1-private"], scope_key="a2", created_by="a1")
    judged = visibility.judging(opened, private, now.__contains__, opened.agents)
    assert judged.agents == frozenset({"a2"})
    assert not visibility.sees(judged, private)  # a1's private memory: a1 not acted for
    repo = MEMORIES["repo-one"]
    assert visibility.sees(visibility.judging(opened, repo, now.__contains__, ["a1", "a2"]), repo)
    nobody = visibility.judging(opened, repo, set[str]().__contains__, opened.agents)
    assert not visibility.sees(nobody, repo)
