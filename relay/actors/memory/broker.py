"""The broker's use case: what an agent should have in mind now, within a budget.

Loads the card and the agent's live repo roots, decides over its candidates read without
their text (``broker_plan``), reads the text of the items served, and records the serving
(``serveCount``, ``lastServedAt``, one "Memory served" activity) in one commit before
answering.

The text a row leaves with is its stored text redacted again by the current list. A row
stamped by the current list leaves as stored, so its stored length and ``search_text``
decide for it. While every candidate is stamped, SQL sorts them and hands them over a
page at a time, and packing stops reading once no later row can matter (``_paged``): an
agent's thousands of candidates cost one indexed statement and one page. Otherwise the
coarse candidates are read whole (``_decided``): a row known clean by ``CLEAN`` decides
as stored, any other is read whole and redacted here. A row that changed between two
reads makes the broker read again, and after ``READ_ATTEMPTS`` it decides over every row
read whole (``broker_rules.broker``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from relay.actors.memory import rules
from relay.actors.memory.broker_plan import Entry, Packing, packed, points, ranked
from relay.actors.memory.broker_rules import (
    OMITTED_LISTED,
    BrokerContext,
    Budget,
    Served,
    agent_viewer,
    broker,
    chars_of,
    is_candidate,
    pin_rank,
    query_terms,
    score,
)
from relay.actors.memory.flows import redactor
from relay.actors.memory.redaction import Redactor
from relay.actors.memory.visibility import cwd_covers
from relay.actors.runtime.audit import write_audited
from relay.actors.runtime.context import Runtime
from relay.auth.access import normalise_path
from relay.domain.activity import ActivityInput
from relay.domain.memory import Memory, Viewer
from relay.domain.memory_reload import reload_tags
from relay.errors import NotFound
from relay.store import agents as agent_store
from relay.store import memory as memory_store
from relay.store import memory_broker as broker_store
from relay.store.memory_broker_sql import Ask

SERVED_TITLE = "Memory served"
CLEAN_CACHE_SIZE = 200_000
READ_ATTEMPTS = 3
FIRST_PAGE_SLACK = 8  # rows beyond maxItems + the omitted list: a page more is a query more
NEXT_PAGE = 256


class CleanCache:
    """Which stored memories the current redaction list leaves as they are, by (id,
    version): a memory's text changes only with its version, and the list only with the
    process's settings, so the broker redacts each (id, version) once instead of on every
    serving (the list costs ~0.3 ms per memory; a broker call weighs thousands)."""

    def __init__(self, size: int = CLEAN_CACHE_SIZE) -> None:
        self.size = size
        self.lists: dict[Redactor, OrderedDict[tuple[str, int], bool]] = {}

    def known(self, memory: Memory, current: Redactor) -> bool:
        """Whether ``current`` is known to leave this (id, version) as stored."""
        seen = self.lists.get(current)
        return seen is not None and (memory.id, memory.version) in seen

    def shown(self, memory: Memory, current: Redactor) -> Memory:
        seen = self.lists.setdefault(current, OrderedDict())
        key = (memory.id, memory.version)
        if seen.get(key):
            seen.move_to_end(key)
            return memory
        out = rules.for_output(memory, current)
        if out is memory:  # nothing to redact: remember it
            seen[key] = True
            if len(seen) > self.size:
                seen.popitem(last=False)
        return out


CLEAN = CleanCache()


async def serve(
    rt: Runtime,
    agent_id: str,
    *,
    query: str | None,
    repo_root: str | None,
    budget: Budget,
    cwd: Sequence[str] | None,
) -> BrokerContext:
    """The agent's context; ``cwd`` is the calling token's constraint (None: none).

    Raises:
        NotFound: ``agent not found``.
    """
    card = await rt.store.run(lambda: agent_store.load(agent_id))
    if card is None:
        raise NotFound("agent not found")
    if repo_root is not None:
        roots = [normalise_path(repo_root)]
    else:
        stored = await rt.store.run(partial(broker_store.live_repo_roots, agent_id))
        roots = sorted({normalise_path(root) for root in stored})
    pinned = reload_tags(card.tags)
    terms = query_terms(query)
    viewer = agent_viewer(agent_id, cwd)
    current = redactor(rt)
    root_set = frozenset(roots)
    answer = None
    for _attempt in range(READ_ATTEMPTS):
        paged = await _paged(rt, agent_id, roots, terms, pinned, budget, viewer)
        if isinstance(paged, _Unstamped):
            paged = await _decided(rt, agent_id, card.tags, roots, terms, pinned, budget, viewer)
        answer = paged
        if answer is not None:
            break
    if answer is None:  # rows kept changing under the two reads: read them whole, once
        rows = await rt.store.run(
            partial(broker_store.full_candidates, agent_id, roots, terms=terms, pinned_tags=pinned)
        )
        shown = [CLEAN.shown(m, current) for m in rows if is_candidate(m, viewer, root_set)]
        answer = broker(agent_id, shown, card_tags=card.tags, query=query, budget=budget)
    if answer.items:
        await _record_serving(rt, answer)
    return answer


class _Unstamped:
    """Some candidate's text is not stamped by the current list: the order and the
    lengths in SQL may not be the ones it leaves with."""


async def _paged(
    rt: Runtime,
    agent_id: str,
    roots: Sequence[str],
    terms: Sequence[str],
    pinned: Sequence[str],
    budget: Budget,
    viewer: Viewer,
) -> BrokerContext | _Unstamped | None:
    """The answer from the candidates in order, a page at a time, SQL sorting them
    (``memory_broker.candidates``); with a query, the scored rest as ``_decided`` reads it.
    None when a row changed between two reads."""
    current = redactor(rt)
    ask = Ask(
        agent_id=agent_id,
        repo_roots=tuple(root for root in roots if cwd_covers(viewer, root)),
        pinned_tags=tuple(pinned),
        terms=tuple(terms),
        stamp=current.stamp,
        limit=budget.max_items + OMITTED_LISTED + FIRST_PAGE_SLACK,
        pinned_only=bool(terms),
    )
    page = await rt.store.run(partial(broker_store.candidates, ask))
    total = page.total or 0
    if page.unstamped:
        return _Unstamped()
    packing = Packing(agent_id, budget)
    while True:
        for row, key in page.rows:
            if row.stamp != current.stamp:
                return None
            packing.add(Entry(row.memory, row.chars, 0), key[0] < len(pinned))
        fits = packing.fits()
        if len(page.rows) < ask.limit or fits == -1:
            break
        ask = replace(ask, after=page.rows[-1][1], max_chars=fits, limit=NEXT_PAGE)
        page = await rt.store.run(partial(broker_store.candidates, ask))
    if terms and packing.fits() != -1:
        rows = await rt.store.run(
            partial(broker_store.scored_candidates, agent_id, roots, terms=terms, pinned_tags=[])
        )
        root_set = frozenset(roots)
        entries: list[Entry] = []
        for row in rows:
            memory = row.memory
            if not is_candidate(memory, viewer, root_set) or pin_rank(memory, pinned) is not None:
                continue
            if row.stamp != current.stamp:
                return None
            entries.append(Entry(memory, row.chars, points(memory.title, row.found, terms)))
        for entry, _pinned in ranked(entries, (), terms):
            packing.add(entry, False)
    if packing.seen > total:  # rows came in since they were counted
        return None
    return await _with_text(rt, packing.answer(total), {}, current)


async def _decided(
    rt: Runtime,
    agent_id: str,
    card_tags: Sequence[str],
    roots: Sequence[str],
    terms: Sequence[str],
    pinned: Sequence[str],
    budget: Budget,
    viewer: Viewer,
) -> BrokerContext | None:
    """The answer from rows read without their text (and the text of the ones served),
    or None when a row changed between the reads."""
    current = redactor(rt)
    root_set = frozenset(roots)
    rows = await rt.store.run(
        partial(broker_store.scored_candidates, agent_id, roots, terms=terms, pinned_tags=pinned)
    )
    rows = [row for row in rows if is_candidate(row.memory, viewer, root_set)]
    unknown = [
        row.memory.id
        for row in rows
        if row.stamp != current.stamp and not CLEAN.known(row.memory, current)
    ]
    whole = await rt.store.run(partial(broker_store.texts, unknown)) if unknown else {}
    unknown_ids = set(unknown)
    entries: list[Entry] = []
    for row in rows:
        memory = row.memory
        if memory.id in unknown_ids:
            stored = whole.get(memory.id)
            if stored is None or stored.version != memory.version:
                return None
            shown = CLEAN.shown(stored, current)
            if shown is not stored:  # the current list changes it: decide on its text
                entries.append(Entry(shown, chars_of(shown), score(shown, terms)))
                continue
        entries.append(Entry(memory, row.chars, points(memory.title, row.found, terms)))
    answer = packed(agent_id, ranked(entries, card_tags, terms), budget)
    return await _with_text(rt, answer, whole, current)


async def _with_text(
    rt: Runtime, answer: BrokerContext, whole: dict[str, Memory], current: Redactor
) -> BrokerContext | None:
    """The answer with its items' text (as it leaves), or None if one changed since."""
    wanted = [item.memory.id for item in answer.items if item.memory.id not in whole]
    read = await rt.store.run(partial(broker_store.texts, wanted)) if wanted else {}
    items: list[Served] = []
    for item in answer.items:
        stored = whole.get(item.memory.id) or read.get(item.memory.id)
        if stored is None or stored.version != item.memory.version:
            return None
        shown = CLEAN.shown(stored, current)
        if chars_of(shown) != item.chars:  # a stamp that lied: never trust it silently
            return None
        items.append(Served(shown, item.pinned, item.chars))
    return replace(answer, items=tuple(items))


async def _record_serving(rt: Runtime, answer: BrokerContext) -> None:
    """Every serving is audited: the counters and the activity commit together."""
    ids = answer.served_ids
    now = rt.clock.now_ms()
    served = ActivityInput(
        kind="memory",
        title=SERVED_TITLE,
        icon="ti-brain",
        view=rules.MEMORY_VIEW,
        agent_id=answer.agent_id,
        metadata={"ids": ids, "charsUsed": answer.chars_used},
    )
    await write_audited(
        rt, partial(memory_store.mark_served, ids, now), audits_of=lambda _result: [served]
    )
