"""The broker's use case: what an agent should have in mind now, within a budget.

Loads the card, the agent's live repo roots and the coarse candidates, redacts them for
output, lets ``broker_rules`` decide, and records the serving (``serveCount``,
``lastServedAt``, one "Memory served" activity) in one commit before answering.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import partial

from relay.actors.memory import rules
from relay.actors.memory.broker_rules import (
    BrokerContext,
    Budget,
    agent_viewer,
    broker,
    is_candidate,
    query_terms,
)
from relay.actors.memory.flows import redactor
from relay.actors.memory.redaction import Redactor
from relay.actors.runtime.audit import write_audited
from relay.actors.runtime.context import Runtime
from relay.auth.access import normalise_path
from relay.domain.activity import ActivityInput
from relay.domain.memory import Memory
from relay.domain.memory_reload import reload_tags
from relay.errors import NotFound
from relay.store import agents as agent_store
from relay.store import memory as memory_store
from relay.store import memory_broker as broker_store

SERVED_TITLE = "Memory served"
CLEAN_CACHE_SIZE = 200_000


class CleanCache:
    """Which stored memories the current redaction list leaves as they are, by (id,
    version): a memory's text changes only with its version, and the list only with the
    process's settings, so the broker redacts each (id, version) once instead of on every
    serving (the list costs ~0.3 ms per memory; a broker call weighs thousands)."""

    def __init__(self, size: int = CLEAN_CACHE_SIZE) -> None:
        self.size = size
        self.lists: dict[Redactor, OrderedDict[tuple[str, int], bool]] = {}

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
    rows = await rt.store.run(
        partial(
            broker_store.candidates, agent_id, roots, terms=query_terms(query), pinned_tags=pinned
        )
    )
    viewer = agent_viewer(agent_id, cwd)
    current = redactor(rt)
    root_set = frozenset(roots)
    shown = [CLEAN.shown(m, current) for m in rows if is_candidate(m, viewer, root_set)]
    answer = broker(agent_id, shown, card_tags=card.tags, query=query, budget=budget)
    if answer.items:
        await _record_serving(rt, answer)
    return answer


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
