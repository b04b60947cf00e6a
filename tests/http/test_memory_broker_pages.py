"""The broker reads its candidates in order a page at a time (``broker_store.candidates``,
SQL deciding which rows are candidates and sorting them, ``broker_plan.Packing`` stopping
once no later row matters) and must answer exactly as the pure rule over every row read
whole (``broker_rules.broker``, the oracle): hypothesis over random stores where every
row is stamped, with ties on every ordering field, pinned tags differing only in case,
private rows of other creators, a ``cwd`` constraint, tight budgets, and pages and an
omitted list made small so that a few rows cross every page and listing boundary."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.actors.memory import broker as broker_flow
from relay.actors.memory import broker_plan, broker_rules, rules
from relay.actors.memory.broker import serve
from relay.actors.memory.broker_rules import Budget, agent_viewer, broker, is_candidate
from relay.actors.memory.flows import redactor
from relay.domain.memory_reload import reload_tags
from relay.http.services import Services
from relay.store import memory as memory_store
from relay.store import memory_broker as broker_store
from tests.http.test_memory_broker import workspace
from tests.http.test_memory_broker_paths import clear, memory_of
from tests.http.test_messages import agent

CARD_TAGS = [
    "memory-reload:style",
    "team",
    "memory-reload:ops",
    "memory-reload:ci",
    "memory-reload:é",
]
VOCABULARY = ["deploy", "Deploy", "ci", "ßtraße", "İstanbul", "ΣΑΣ", "style", "x"]
VOCABULARY += [f"w{n}" for n in range(8)]
words = st.sampled_from(VOCABULARY)
texts = st.lists(words, min_size=1, max_size=6).map(" ".join)
memories = st.fixed_dictionaries(
    {
        "where": st.sampled_from(
            [
                ("agent", "a1"),
                ("agent", "a1"),
                ("agent", "a2"),
                ("repo", "/srv/one"),
                ("repo", "/srv/two"),
                ("repo", "/srv/three"),
                ("global", ""),
            ]
        ),
        "visibility": st.sampled_from(["shared", "shared", "shared", "private"]),
        "creator": st.sampled_from([("a1", True), ("a2", True), ("a1", False)]),
        "sensitivity": st.sampled_from(["normal"] * 7 + ["secret"]),
        "state": st.sampled_from(["clean"] * 4 + ["redacted", "blocked"]),
        "confidence": st.sampled_from(["low", "medium", "high"]),
        "title": texts,
        "body": texts,
        "tags": st.lists(
            # tags whose JSON text holds a pinned one's ('a"style' is stored "a\\"style"),
            # and a pinned tag an encoder may escape
            st.sampled_from(["style", "ops", "Style", "team", "ci", "CI", 'a"style', "é", "ci\\"]),
            unique=True,
        ),
        "updated_at": st.integers(1, 3),
        "stamped": st.just(True),
    }
)
queries = st.one_of(st.none(), st.none(), st.lists(words, min_size=1, max_size=3).map(" ".join))
MAX_ITEMS = st.sampled_from([1, 2, 3, 5, 8, 100])


@st.composite
def budgets(draw: st.DrawFn, stored: list[dict[str, Any]]) -> Budget:
    """From a budget nothing fits in to one everything fits in, and maxItems from 1 to
    more than there are rows; often the chars of some rows exactly, or one off, so that a
    row fills the budget to the last char."""
    lengths = [len(m["title"]) + len(m["body"]) for m in stored]
    picked = draw(st.lists(st.booleans(), min_size=len(lengths), max_size=len(lengths)))
    exact = sum(n for n, pick in zip(lengths, picked, strict=True) if pick)
    max_chars = draw(
        st.one_of(st.integers(0, 400), st.sampled_from([exact, exact, exact - 1, exact + 1]))
    )
    return Budget(max_chars=max(max_chars, 0), max_items=draw(MAX_ITEMS))


cwds = st.sampled_from([None, None, ("/srv/one",), ("/srv/two", "/srv/three"), ("/elsewhere",)])

Example = tuple[list[dict[str, Any]], str | None, Budget, tuple[str, ...] | None]


def examples(count: int) -> list[Example]:
    """Drawn by hypothesis, then run on the test's trio loop (as in the paths test)."""
    drawn: list[Example] = []

    @settings(max_examples=count, deadline=None, database=None)
    @given(
        stored=st.lists(memories, min_size=0, max_size=40),
        query=queries,
        cwd=cwds,
        data=st.data(),
    )
    def collect(
        stored: list[dict[str, Any]],
        query: str | None,
        cwd: tuple[str, ...] | None,
        data: st.DataObject,
    ) -> None:
        drawn.append((stored, query, data.draw(budgets(stored)), cwd))

    collect()
    return drawn


@pytest.mark.parametrize(("listed", "page"), [(3, 2), (100, 256)])
async def test_paged_reading_answers_as_the_pure_rule(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch, listed: int, page: int
) -> None:
    # A short omitted list and short pages: 40 rows then cross each boundary many times.
    for module in (broker_flow, broker_plan, broker_rules):
        monkeypatch.setattr(module, "OMITTED_LISTED", listed)
    monkeypatch.setattr(broker_flow, "FIRST_PAGE_SLACK", 0)
    monkeypatch.setattr(broker_flow, "NEXT_PAGE", page)

    async def slower_path(*_args: Any) -> None:
        raise AssertionError("every row is stamped: the paged reading answers")

    monkeypatch.setattr(broker_flow, "_decided", slower_path)
    await agent(client, "a1", tags=CARD_TAGS)
    await agent(client, "a2")
    await workspace(services, "ws-1", "/srv/one", "active")
    await workspace(services, "ws-2", "/srv/two", "active")
    await workspace(services, "ws-3", "/srv/three", "merged")
    for stored, query, budget, cwd in examples(120):
        await same_answer(services, stored, query, budget, cwd)


async def same_answer(
    services: Services,
    stored: list[dict[str, Any]],
    query: str | None,
    budget: Budget,
    cwd: tuple[str, ...] | None,
) -> dict[str, Any]:
    rt = services.runtime
    current = redactor(rt)
    viewer = agent_viewer("a1", cwd)
    roots = ["/srv/one", "/srv/two"]
    await rt.store.write(clear)
    for fields in stored:
        memory = memory_of(fields)
        assert rules.for_output(memory, current) is memory  # nothing here is redacted
        await rt.store.write(partial(memory_store.insert_memory, memory, current.stamp))
    terms = tuple(dict.fromkeys(t.lower() for t in (query or "").split()))
    whole = await rt.store.run(
        partial(
            broker_store.full_candidates,
            "a1",
            roots,
            terms=terms,
            pinned_tags=reload_tags(CARD_TAGS),
        )
    )
    shown = [m for m in whole if is_candidate(m, viewer, roots)]
    expected = broker("a1", shown, card_tags=CARD_TAGS, query=query, budget=budget)
    answer = await serve(rt, "a1", query=query, repo_root=None, budget=budget, cwd=cwd)
    assert answer.to_json() == expected.to_json(), (stored, query, budget, cwd)
    again = await serve(rt, "a1", query=query, repo_root=None, budget=budget, cwd=cwd)
    assert again.to_json() == answer.to_json()
    return answer.to_json()


def own_row(*, body: str = "b", tags: list[str] | None = None, updated_at: int) -> dict[str, Any]:
    """A stamped, shared, clean memory of a1's own scope: the fixed examples' row."""
    return {
        "where": ("agent", "a1"),
        "visibility": "shared",
        "creator": ("a1", True),
        "sensitivity": "normal",
        "state": "clean",
        "confidence": "high",
        "title": "t",
        "body": body,
        "tags": tags or [],
        "updated_at": updated_at,
        "stamped": True,
    }


async def test_a_row_on_a_later_page_that_fills_the_budget_exactly_goes_in(
    client: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One omitted row listed, pages of one row: the fifth row (4 chars) comes on a page
    # asked for rows of at most the 4 chars left, and fills the budget to the last char.
    monkeypatch.setattr(broker_flow, "OMITTED_LISTED", 1)
    monkeypatch.setattr(broker_plan, "OMITTED_LISTED", 1)
    monkeypatch.setattr(broker_rules, "OMITTED_LISTED", 1)
    monkeypatch.setattr(broker_flow, "FIRST_PAGE_SLACK", 0)
    monkeypatch.setattr(broker_flow, "NEXT_PAGE", 1)
    await agent(client, "a1", tags=CARD_TAGS)
    stored = [
        own_row(body="b" * (chars - 1), updated_at=10 - n)
        for n, chars in enumerate([6, 5, 5, 5, 4, 1])
    ]
    answer = await same_answer(services, stored, None, Budget(max_chars=10, max_items=3), None)
    assert [item["chars"] for item in answer["items"]] == [6, 4]
    assert answer["omittedCount"] == 4


async def test_a_tag_that_only_contains_a_pinned_one_in_its_json_is_not_pinned(
    client: Any, services: Services
) -> None:
    # 'a"style' is not the tag 'style', though its JSON text ["a\"style"] holds "style".
    await agent(client, "a1", tags=CARD_TAGS)
    stored = [own_row(tags=[], updated_at=5), own_row(tags=['a"style'], updated_at=1)]
    answer = await same_answer(services, stored, None, Budget(max_chars=1000, max_items=20), None)
    assert [item["pinned"] for item in answer["items"]] == [False, False]
