"""The broker's rules: candidates, pinned order, scoring, greedy packing and its promises
(hypothesis over random stores: budget kept, pinned first, same answer twice)."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from relay.actors.memory.broker_rules import (
    OMITTED_LISTED,
    Budget,
    agent_viewer,
    broker,
    is_candidate,
    query_terms,
    score,
)
from relay.domain.memory import Memory

BASE = Memory(
    id="mem_0",
    scope="global",
    scope_key="",
    type="project",
    visibility="shared",
    sensitivity="normal",
    confidence="medium",
    redaction_state="clean",
    title="t",
    body="b",
    tags=(),
    source=None,
    created_by="a1",
    version=1,
    serve_count=0,
    last_served_at=None,
    created_at=1,
    updated_at=1,
)


def mem(id_: str, **fields: Any) -> Memory:
    return dataclasses.replace(BASE, id=id_, **fields)


def served(answer: Any) -> list[str]:
    return [item.memory.id for item in answer.items]


def test_query_terms_are_distinct_lower_cased_in_order() -> None:
    assert query_terms(None) == ()
    assert query_terms("  ") == ()
    assert query_terms("Deploy  deploy\tCI") == ("deploy", "ci")


def test_candidates_are_what_the_agent_sees_normal_and_in_its_scopes() -> None:
    viewer = agent_viewer("a1", None)
    roots = ["/srv/r1"]
    assert is_candidate(mem("m", scope="agent", scope_key="a1"), viewer, roots)
    assert not is_candidate(mem("m", scope="agent", scope_key="a2"), viewer, roots)
    assert is_candidate(mem("m", scope="repo", scope_key="/srv/r1"), viewer, roots)
    assert not is_candidate(mem("m", scope="repo", scope_key="/srv/r2"), viewer, roots)
    assert is_candidate(mem("m"), viewer, roots)
    assert not is_candidate(mem("m", sensitivity="secret"), viewer, roots)
    assert not is_candidate(mem("m", redaction_state="blocked"), viewer, roots)
    assert is_candidate(mem("m", visibility="private", created_by="a1"), viewer, roots)
    assert not is_candidate(mem("m", visibility="private", created_by="a2"), viewer, roots)


def test_a_cwd_constraint_keeps_other_repos_out() -> None:
    viewer = agent_viewer("a1", ["/srv/r1"])
    assert is_candidate(mem("m", scope="repo", scope_key="/srv/r1"), viewer, ["/srv/r1", "/x"])
    assert not is_candidate(mem("m", scope="repo", scope_key="/x"), viewer, ["/srv/r1", "/x"])


def test_score_counts_each_term_once_and_the_title_twice() -> None:
    memory = mem("m", title="Deploy notes", body="deploy with CI", tags=("ops",))
    assert score(memory, ("deploy",)) == 2
    assert score(memory, ("ci",)) == 1
    assert score(memory, ("ops",)) == 1
    assert score(memory, ("deploy", "ci", "ops", "nope")) == 4


def test_pinned_come_first_in_tag_order_then_newest() -> None:
    memories = [
        mem("m_style_old", tags=("style",), updated_at=1),
        mem("m_style_new", tags=("style",), updated_at=5),
        mem("m_build", tags=("build",), updated_at=9),
        mem("m_plain", updated_at=99, confidence="high"),
    ]
    answer = broker(
        "a1",
        memories,
        card_tags=["memory-reload:build", "x", "memory-reload:style"],
        query="nothing-matches",
        budget=Budget(8000),
    )
    assert served(answer) == ["m_build", "m_style_new", "m_style_old"]
    assert all(item.pinned for item in answer.items)
    assert answer.omitted_count == 0  # a non-matching one is not a candidate at all


def test_the_rest_by_score_scope_confidence_newest_then_id() -> None:
    memories = [
        mem("m_g_high", confidence="high", updated_at=3),
        mem("m_g_low", confidence="low", updated_at=9),
        mem("m_repo", scope="repo", scope_key="/r", updated_at=1),
        mem("m_agent", scope="agent", scope_key="a1", updated_at=1),
        mem("m_b", updated_at=3, confidence="high"),
        mem("m_title", title="deploy", updated_at=0, confidence="low"),
    ]
    answer = broker("a1", memories, card_tags=[], query=None, budget=Budget(8000))
    assert served(answer) == ["m_agent", "m_repo", "m_b", "m_g_high", "m_g_low", "m_title"]
    ranked = broker("a1", memories, card_tags=[], query="DEPLOY", budget=Budget(8000))
    assert served(ranked) == ["m_title"]


def test_packing_skips_what_does_not_fit_and_goes_on() -> None:
    memories = [
        mem("m1", title="a" * 100, body="b" * 100, updated_at=4),
        mem("m2", title="a" * 50, body="b" * 100, updated_at=3),
        mem("m3", title="a", body="b", updated_at=2),
        mem("m4", title="a", body="b", updated_at=1),
    ]
    answer = broker("a1", memories, card_tags=[], query=None, budget=Budget(250, 2))
    assert served(answer) == ["m1", "m3"]
    assert [(o.id, o.chars, o.reason) for o in answer.omitted] == [
        ("m2", 150, "maxChars"),
        ("m4", 2, "maxItems"),
    ]
    assert (answer.omitted_count, answer.chars_used) == (2, 202)


def test_only_the_first_hundred_omitted_are_listed() -> None:
    memories = [mem(f"m{i:03}", updated_at=1000 - i) for i in range(150)]
    answer = broker("a1", memories, card_tags=[], query=None, budget=Budget(200, 1))
    assert len(answer.omitted) == OMITTED_LISTED
    assert answer.omitted_count == 149
    assert answer.omitted[0].id == "m001"


def test_reply_shape() -> None:
    answer = broker(
        "a1", [mem("m1", tags=("k",))], card_tags=["memory-reload:k"], query=None, budget=Budget(9)
    )
    assert answer.to_json() == {
        "agentId": "a1",
        "items": [
            {
                "id": "m1",
                "scope": "global",
                "scopeKey": "",
                "type": "project",
                "title": "t",
                "body": "b",
                "tags": ["k"],
                "confidence": "medium",
                "pinned": True,
                "chars": 2,
            }
        ],
        "omitted": [],
        "omittedCount": 0,
        "charsUsed": 2,
    }


# -- properties over random stores --------------------------------------------------------

WORDS = st.sampled_from(["deploy", "ci", "style", "build", "rust", "x"])
TAGS = st.lists(st.sampled_from(["style", "build", "ops", "k"]), max_size=3, unique=True)


@st.composite
def memories(draw: st.DrawFn) -> Memory:
    scope = draw(st.sampled_from(["agent", "repo", "global"]))
    key = {"agent": "a1", "repo": "/srv/r", "global": ""}[scope]
    return mem(
        f"mem_{draw(st.integers(0, 10_000)):05}",
        scope=scope,
        scope_key=key,
        confidence=draw(st.sampled_from(["low", "medium", "high"])),
        title=" ".join(draw(st.lists(WORDS, min_size=1, max_size=4))),
        body=" ".join(draw(st.lists(WORDS, min_size=1, max_size=60))),
        tags=tuple(draw(TAGS)),
        updated_at=draw(st.integers(0, 50)),
    )


STORES = st.lists(memories(), max_size=60, unique_by=lambda m: m.id)
CARDS = st.lists(st.sampled_from(["memory-reload:style", "memory-reload:k", "team"]), max_size=3)
QUERIES = st.one_of(st.none(), st.lists(WORDS, max_size=3).map(" ".join))
BUDGETS = st.builds(Budget, st.integers(200, 2000), st.integers(1, 100))


@settings(max_examples=300, deadline=None)
@given(STORES, CARDS, QUERIES, BUDGETS)
def test_broker_promises(
    store: list[Memory], card: list[str], query: str | None, budget: Budget
) -> None:
    answer = broker("a1", store, card_tags=card, query=query, budget=budget)
    assert answer.chars_used == sum(item.chars for item in answer.items) <= budget.max_chars
    assert len(answer.items) <= budget.max_items
    flags = [item.pinned for item in answer.items]
    assert flags == sorted(flags, reverse=True)  # every pinned one before every other
    assert len(answer.items) + answer.omitted_count <= len(store)
    assert len(answer.omitted) == min(answer.omitted_count, OMITTED_LISTED)
    # the same store and request, in any order, give the same answer
    assert broker("a1", list(reversed(store)), card_tags=card, query=query, budget=budget) == answer
