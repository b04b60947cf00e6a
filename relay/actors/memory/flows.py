"""Memory use cases, called by the routes, the MCP tools and the rescan job alike."""

from __future__ import annotations

from functools import partial
from typing import Any

from relay.actors.memory import rules, search
from relay.actors.memory.messages import KIND, Create, Delete, Rescan, Update, Written
from relay.actors.memory.redaction import Redactor
from relay.actors.runtime.context import Runtime
from relay.domain.memory import (
    Memory,
    MemoryInput,
    MemoryPatch,
    MemoryQuery,
    Viewer,
    new_memory_id,
)
from relay.errors import NotFound
from relay.store import memory as memory_store

_SCAN_PAGE = 200


def redactor(rt: Runtime) -> Redactor:
    """The current redaction list: built-ins, the relay's credentials, the extras."""
    return rules.redactor_for(rt.credentials, rt.settings.memory_redact_patterns)


def shown(rt: Runtime, memory: Memory) -> Memory:
    """``memory`` as it may leave the relay (redacted again on output)."""
    return rules.for_output(memory, redactor(rt))


async def load(rt: Runtime, memory_id: str) -> Memory:
    """The stored memory (as stored: render it through ``shown``). Raises NotFound."""
    memory = await rt.store.run(lambda: memory_store.load_memory(memory_id))
    if memory is None:
        raise NotFound(rules.NOT_FOUND)
    return memory


async def create(
    rt: Runtime, data: MemoryInput, created_by: str, created_by_agent: bool = True
) -> Written:
    """A new memory under a fresh id: its actor inserts it (the primary key backs it)."""
    return await rt.registry.ask(KIND, new_memory_id(), Create(data, created_by, created_by_agent))


async def update(
    rt: Runtime, memory_id: str, patch: MemoryPatch, if_match: int | None, viewer: Viewer
) -> Written:
    """``viewer`` is judged by the memory's actor on the version it replaces."""
    return await rt.registry.ask(KIND, memory_id, Update(patch, if_match, viewer))


async def delete(rt: Runtime, memory_id: str, if_match: int | None, viewer: Viewer) -> Memory:
    """``viewer`` is judged by the memory's actor on the version it deletes."""
    return await rt.registry.ask(KIND, memory_id, Delete(viewer, if_match))


async def find(rt: Runtime, query: MemoryQuery, viewer: Viewer) -> tuple[list[Memory], str | None]:
    """One page of a search: the memories (redacted for output) and the next cursor.

    The store hands candidates in order, a batch at a time; each is checked exactly
    (``search.matches``) until one more than a page is found or the store runs out.
    """
    current = redactor(rt)
    found: list[Memory] = []
    after = query.after
    batch = max(query.limit + 1, 100)
    while len(found) <= query.limit:
        rows = await rt.store.run(
            partial(memory_store.search_candidates, query, viewer, after, batch)
        )
        for row in rows:
            out = rules.for_output(row, current)
            if search.matches(out, query, viewer):
                found.append(out)
                if len(found) > query.limit:
                    break
        if len(rows) < batch:
            break
        after = (rows[-1].updated_at, rows[-1].id)
    page = found[: query.limit]
    more = len(found) > query.limit
    return page, search.encode_cursor(page[-1]) if more and page else None


async def memory_rescan(rt: Runtime) -> dict[str, Any]:
    """Maintenance job: rewrite memories whose stored text the current list would change
    (a pattern added since they were written), and stamp the others with the list (they
    leave as stored) → ``{scanned, redacted}``."""
    current = redactor(rt)
    scanned = redacted = 0
    after = ""
    while True:
        page = await rt.store.run(partial(memory_store.memories_after, after, _SCAN_PAGE))
        unchanged: list[tuple[str, int]] = []
        for memory in page:
            scanned += 1
            if rules.rescanned(memory, now=0, redactor=current) is None:
                unchanged.append((memory.id, memory.version))
                continue
            if await rt.registry.ask(KIND, memory.id, Rescan()) is not None:
                redacted += 1
        if unchanged:  # the broker then reads them without their text
            await rt.store.write(partial(memory_store.stamp_unchanged, unchanged, current.stamp))
        if len(page) < _SCAN_PAGE:
            return {"scanned": scanned, "redacted": redacted}
        after = page[-1].id
