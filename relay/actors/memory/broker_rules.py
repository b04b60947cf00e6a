"""The broker's decisions as pure functions (spec/memory.md, "Broker").

Given the agent's candidates (already redacted for output), its ``memory-reload:T``
card tags, a query and a budget: which memories are served, in which order, and which
are left out and why. No I/O and no clock: the flow loads, redacts and records serving.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from relay.actors.memory.visibility import sees
from relay.domain.memory import Memory, Viewer
from relay.domain.memory_reload import reload_tags

JSON = dict[str, Any]

OmitReason = Literal["maxChars", "maxItems"]
OMITTED_LISTED = 100  # the reply lists the first omitted ones; omittedCount counts all
MAX_ITEMS_DEFAULT = 20
QUERY_MAX = 1000

_SCOPE_RANK = {"agent": 0, "repo": 1, "global": 2}
_CONFIDENCE_RANK = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True, slots=True)
class Budget:
    max_chars: int
    max_items: int = MAX_ITEMS_DEFAULT


@dataclass(frozen=True, slots=True)
class Served:
    memory: Memory
    pinned: bool
    chars: int

    def to_json(self) -> JSON:
        m = self.memory
        return {
            "id": m.id,
            "scope": m.scope,
            "scopeKey": m.scope_key,
            "type": m.type,
            "title": m.title,
            "body": m.body,
            "tags": list(m.tags),
            "confidence": m.confidence,
            "pinned": self.pinned,
            "chars": self.chars,
        }


@dataclass(frozen=True, slots=True)
class Omitted:
    id: str
    chars: int
    reason: OmitReason

    def to_json(self) -> JSON:
        return {"id": self.id, "chars": self.chars, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class BrokerContext:
    agent_id: str
    items: tuple[Served, ...]
    omitted: tuple[Omitted, ...]  # the first OMITTED_LISTED
    omitted_count: int
    chars_used: int

    def to_json(self) -> JSON:
        return {
            "agentId": self.agent_id,
            "items": [item.to_json() for item in self.items],
            "omitted": [o.to_json() for o in self.omitted],
            "omittedCount": self.omitted_count,
            "charsUsed": self.chars_used,
        }

    @property
    def served_ids(self) -> list[str]:
        return [item.memory.id for item in self.items]


def query_terms(query: str | None) -> tuple[str, ...]:
    """The distinct lower-cased whitespace-separated terms of ``query``, in order."""
    if not query:
        return ()
    return tuple(dict.fromkeys(term.lower() for term in query.split()))


def agent_viewer(agent_id: str, cwd: Sequence[str] | None) -> Viewer:
    """What the agent sees, within the calling token's ``cwd`` constraint (if any): an
    operator asking for an agent gets that agent's view, never its own."""
    return Viewer(
        operator=False, agents=frozenset({agent_id}), cwd=None if cwd is None else tuple(cwd)
    )


def is_candidate(memory: Memory, viewer: Viewer, repo_roots: Collection[str]) -> bool:
    """Seen by the agent, ``normal``, not ``blocked``, and in its agent scope, global, or
    repo scope for one of ``repo_roots``."""
    if memory.sensitivity != "normal" or memory.redaction_state == "blocked":
        return False
    if not sees(viewer, memory):
        return False
    if memory.scope == "agent":
        return memory.scope_key in viewer.agents
    if memory.scope == "repo":
        return memory.scope_key in repo_roots
    return memory.scope == "global"


def chars_of(memory: Memory) -> int:
    """What an item costs: title + body (as redacted for output)."""
    return len(memory.title) + len(memory.body)


def score(memory: Memory, terms: Sequence[str]) -> int:
    """Each distinct term found (case-insensitive substring of title, body or a tag): +1,
    and +1 more if it is in the title."""
    title = memory.title.lower()
    body = memory.body.lower()
    tags = [tag.lower() for tag in memory.tags]
    total = 0
    for term in terms:
        if term in title:
            total += 2
        elif term in body or any(term in tag for tag in tags):
            total += 1
    return total


def pin_rank(memory: Memory, pinned_tags: Sequence[str]) -> int | None:
    """The position of the first pinned tag the memory carries, or ``None``."""
    positions = [i for i, tag in enumerate(pinned_tags) if tag in memory.tags]
    return min(positions) if positions else None


def ordered(
    candidates: Iterable[Memory], card_tags: Iterable[str], terms: Sequence[str]
) -> list[tuple[Memory, bool]]:
    """Pinned ones first (pinned-tag order, ``updatedAt`` desc, id), then — with terms,
    only those matching one — by score, scope, confidence, ``updatedAt`` desc, id."""
    pinned_tags = reload_tags(card_tags)
    pinned: list[tuple[int, Memory]] = []
    rest: list[tuple[int, Memory]] = []
    for memory in candidates:
        rank = pin_rank(memory, pinned_tags)
        if rank is not None:
            pinned.append((rank, memory))
            continue
        points = score(memory, terms)
        if terms and points == 0:
            continue
        rest.append((points, memory))
    pinned.sort(key=lambda p: (p[0], -p[1].updated_at, p[1].id))
    rest.sort(
        key=lambda r: (
            -r[0],
            _SCOPE_RANK[r[1].scope],
            _CONFIDENCE_RANK[r[1].confidence],
            -r[1].updated_at,
            r[1].id,
        )
    )
    return [(m, True) for _, m in pinned] + [(m, False) for _, m in rest]


def pack(agent_id: str, ranked: Iterable[tuple[Memory, bool]], budget: Budget) -> BrokerContext:
    """Greedy in order: in if fewer than ``maxItems`` are in and it fits ``maxChars``;
    else omitted with its reason, and packing goes on (a later, shorter one may fit)."""
    items: list[Served] = []
    omitted: list[Omitted] = []
    omitted_count = 0
    used = 0
    for memory, pinned in ranked:
        chars = chars_of(memory)
        if len(items) < budget.max_items and used + chars <= budget.max_chars:
            items.append(Served(memory, pinned, chars))
            used += chars
            continue
        omitted_count += 1
        if len(omitted) < OMITTED_LISTED:
            reason: OmitReason = "maxItems" if len(items) >= budget.max_items else "maxChars"
            omitted.append(Omitted(memory.id, chars, reason))
    return BrokerContext(agent_id, tuple(items), tuple(omitted), omitted_count, used)


def broker(
    agent_id: str,
    candidates: Iterable[Memory],
    *,
    card_tags: Iterable[str],
    query: str | None,
    budget: Budget,
) -> BrokerContext:
    """The whole answer for candidates already filtered (``is_candidate``) and redacted."""
    return pack(agent_id, ordered(candidates, card_tags, query_terms(query)), budget)
