"""The broker's decisions over rows read without their text (spec/memory.md, "Broker").

``broker_rules.broker`` decides over whole memories; this decides the same over entries
that carry a memory's length and score instead of its text, so the broker reads the text
of the items it serves only. The two must agree on every store (a property test holds
this one to ``broker_rules`` as its oracle).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from relay.actors.memory.broker_rules import (
    OMITTED_LISTED,
    BrokerContext,
    Budget,
    OmitReason,
    Omitted,
    Served,
    pin_rank,
)
from relay.domain.memory import Memory
from relay.domain.memory_reload import reload_tags

_SCOPE_RANK = {"agent": 0, "repo": 1, "global": 2}
_CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True, slots=True)
class Entry:
    """A candidate as it leaves the relay: its tags and ordering fields (its text may be
    absent), ``chars`` (title + body) and ``points`` (its score for the query)."""

    memory: Memory
    chars: int
    points: int


def points(title: str, found: Sequence[bool], terms: Sequence[str]) -> int:
    """``broker_rules.score`` from the title and, per term, whether it is anywhere in the
    title, the body or a tag: +2 in the title, else +1 if found."""
    lowered = title.lower()
    return sum(
        2 if term in lowered else 1 if hit else 0 for term, hit in zip(terms, found, strict=True)
    )


def ranked(
    entries: Iterable[Entry], card_tags: Iterable[str], terms: Sequence[str]
) -> list[tuple[Entry, bool]]:
    """``broker_rules.ordered`` over entries: pinned ones first (pinned-tag order,
    ``updatedAt`` desc, id), then — with terms, only those scoring — by score, scope,
    confidence, ``updatedAt`` desc, id."""
    pinned_tags = reload_tags(card_tags)
    pinned: list[tuple[tuple[int, int, str], Entry]] = []
    rest: list[tuple[tuple[int, int, int, int, str], Entry]] = []
    for entry in entries:
        m = entry.memory
        rank = pin_rank(m, pinned_tags)
        if rank is not None:
            pinned.append(((rank, -m.updated_at, m.id), entry))
        elif entry.points or not terms:
            key = (
                -entry.points,
                _SCOPE_RANK[m.scope],
                _CONFIDENCE_RANK[m.confidence],
                -m.updated_at,
                m.id,
            )
            rest.append((key, entry))
    pinned.sort(key=lambda p: p[0])
    rest.sort(key=lambda r: r[0])
    return [(e, True) for _, e in pinned] + [(e, False) for _, e in rest]


def packed(agent_id: str, order: Iterable[tuple[Entry, bool]], budget: Budget) -> BrokerContext:
    """``broker_rules.pack`` with each entry's ``chars``: the served items carry the
    entries' memories (the caller puts their text in)."""
    items: list[Served] = []
    omitted: list[Omitted] = []
    omitted_count = 0
    used = 0
    for entry, pinned in order:
        chars = entry.chars
        if len(items) < budget.max_items and used + chars <= budget.max_chars:
            items.append(Served(entry.memory, pinned, chars))
            used += chars
            continue
        omitted_count += 1
        if len(omitted) < OMITTED_LISTED:
            reason: OmitReason = "maxItems" if len(items) >= budget.max_items else "maxChars"
            omitted.append(Omitted(entry.memory.id, chars, reason))
    return BrokerContext(agent_id, tuple(items), tuple(omitted), omitted_count, used)


class Packing:
    """``packed`` fed in order a page at a time, told the number of candidates instead of
    reading them all: once the omitted list is full, a row matters only if it can still
    go in, so the reader asks for rows of at most ``fits()`` chars, and for none once
    ``maxItems`` are in."""

    def __init__(self, agent_id: str, budget: Budget) -> None:
        self.agent_id = agent_id
        self.budget = budget
        self.items: list[Served] = []
        self.omitted: list[Omitted] = []
        self.used = 0
        self.seen = 0

    def add(self, entry: Entry, pinned: bool) -> None:
        self.seen += 1
        chars = entry.chars
        if len(self.items) < self.budget.max_items and self.used + chars <= self.budget.max_chars:
            self.items.append(Served(entry.memory, pinned, chars))
            self.used += chars
        elif len(self.omitted) < OMITTED_LISTED:
            reason: OmitReason = (
                "maxItems" if len(self.items) >= self.budget.max_items else "maxChars"
            )
            self.omitted.append(Omitted(entry.memory.id, chars, reason))

    @property
    def listing(self) -> bool:
        """Whether the omitted list still takes rows (every row then matters)."""
        return len(self.omitted) < OMITTED_LISTED

    def fits(self) -> int | None:
        """The most chars a later row may have and still matter (None: any), or -1 when
        no later row does."""
        if self.listing:
            return None
        if len(self.items) >= self.budget.max_items:
            return -1
        return self.budget.max_chars - self.used

    def answer(self, total: int) -> BrokerContext:
        """The answer when ``total`` candidates there are (each served or omitted)."""
        return BrokerContext(
            self.agent_id,
            tuple(self.items),
            tuple(self.omitted),
            total - len(self.items),
            self.used,
        )
