"""The broker reads rows without their text (``broker_store.candidates``, ``broker_plan``)
and must answer exactly as the pure rule over every row read whole and redacted for
output (``broker_rules.broker``, the oracle): hypothesis over random stores, with rows
stamped by the current redaction list, unstamped ones, and ones the list changes."""

from __future__ import annotations

import itertools
from functools import partial
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from relay.actors.memory import rules
from relay.actors.memory.broker import serve
from relay.actors.memory.broker_rules import Budget, agent_viewer, broker, is_candidate
from relay.actors.memory.flows import redactor
from relay.domain.memory import Memory
from relay.domain.memory_reload import reload_tags
from relay.http.services import Services
from relay.store import memory as memory_store
from relay.store import memory_broker as broker_store
from relay.store import models
from tests.http.test_memory_broker import workspace
from tests.http.test_messages import agent

CARD_TAGS = ["memory-reload:style", "team", "memory-reload:ops"]
SECRET = "sk-" + "A1b2C3d4" * 3  # the openai-key pattern: output redaction changes it
IDS = itertools.count()

VOCABULARY = ["deploy", "Deploy", "ci", "ßtraße", "İstanbul", "ΣΑΣ", SECRET, "style"]
VOCABULARY += [f"w{n}" for n in range(16)]  # fillers, so a term is in some texts only
words = st.sampled_from(VOCABULARY)
texts = st.lists(words, min_size=1, max_size=8).map(" ".join)
memories = st.fixed_dictionaries(
    {
        "where": st.sampled_from(
            [
                ("agent", "a1"),
                ("agent", "a1"),
                ("agent", "a2"),
                ("repo", "/srv/one"),
                ("repo", "/srv/two"),
                ("global", ""),
                ("global", ""),
            ]
        ),
        "visibility": st.sampled_from(["shared", "shared", "private"]),
        "creator": st.sampled_from([("a1", True), ("a2", True), ("a1", False)]),
        "sensitivity": st.sampled_from(["normal"] * 5 + ["secret"]),
        "state": st.sampled_from(["clean"] * 3 + ["redacted", "blocked"]),
        "confidence": st.sampled_from(["low", "medium", "high"]),
        "title": texts,
        "body": texts,
        "tags": st.lists(st.sampled_from(["style", "ops", "Style", "team", "ci"]), unique=True),
        "updated_at": st.integers(1, 4),
        "stamped": st.booleans(),
    }
)
terms = st.lists(words, min_size=1, max_size=3).map(" ".join)
queries = st.one_of(st.none(), terms, terms, terms)
budgets = st.builds(Budget, max_chars=st.integers(200, 1200), max_items=st.integers(1, 8))


def memory_of(fields: dict[str, Any]) -> Memory:
    scope, key = fields["where"]
    creator, by_agent = fields["creator"]
    return Memory(
        id=f"mem_{next(IDS):032x}",  # never reused: the clean cache is keyed by id and version
        scope=scope,
        scope_key=key,
        type="project",
        visibility=fields["visibility"],
        sensitivity=fields["sensitivity"],
        confidence=fields["confidence"],
        redaction_state=fields["state"],
        title=fields["title"],
        body=fields["body"],
        tags=tuple(fields["tags"]),
        source=None,
        created_by=creator,
        created_by_agent=by_agent,
        version=1,
        serve_count=0,
        last_served_at=None,
        created_at=1,
        updated_at=fields["updated_at"],
    )


async def clear() -> None:
    await models.Memory.all().delete()


Example = tuple[list[dict[str, Any]], str | None, Budget]


def examples(count: int) -> list[Example]:
    """``count`` random stores and requests drawn by hypothesis (collected here, then run
    on the test's trio loop: pytest-trio cannot rerun the app fixtures per example)."""
    drawn: list[Example] = []

    @settings(max_examples=count, deadline=None, database=None)
    @given(stored=st.lists(memories, min_size=4, max_size=30), query=queries, budget=budgets)
    def collect(stored: list[dict[str, Any]], query: str | None, budget: Budget) -> None:
        drawn.append((stored, query, budget))

    collect()
    return drawn


async def test_reading_without_text_answers_as_the_pure_rule(
    client: Any, services: Services
) -> None:
    await agent(client, "a1", tags=CARD_TAGS)
    await agent(client, "a2")
    await workspace(services, "ws-1", "/srv/one", "active")
    for stored, query, budget in examples(200):
        await same_answer(services, stored, query, budget)


async def same_answer(
    services: Services, stored: list[dict[str, Any]], query: str | None, budget: Budget
) -> None:
    rt = services.runtime
    current = redactor(rt)
    viewer = agent_viewer("a1", None)
    roots = ["/srv/one"]
    await rt.store.write(clear)
    for fields in stored:
        memory = memory_of(fields)
        # A stamp only where the current list leaves the text as stored (as writers do).
        unchanged = rules.for_output(memory, current) is memory
        stamp = current.stamp if fields["stamped"] and unchanged else None
        await rt.store.write(partial(memory_store.insert_memory, memory, stamp))
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
    shown = [rules.for_output(m, current) for m in whole if is_candidate(m, viewer, roots)]
    expected = broker("a1", shown, card_tags=CARD_TAGS, query=query, budget=budget)
    answer = await serve(rt, "a1", query=query, repo_root=None, budget=budget, cwd=None)
    assert answer.to_json() == expected.to_json(), (stored, query, budget)
