"""A list's page for a caller who may not see every row: filled past the hidden ones.

A store query that applies ``limit`` before the caller's visibility rule gives a short or
empty page while visible rows lie further back. ``visible_page`` reads on in batches,
keyset-paged on the list's own order, and leaves the rule (``keep``) the final word.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from relay.store.keyset import Cursor

__all__ = ["Cursor", "visible_page"]  # Cursor: the type ``fetch`` is given

T = TypeVar("T")


async def visible_page(
    fetch: Callable[[Cursor | None, int], Awaitable[list[T]]],
    keep: Callable[[list[T]], Awaitable[list[T]]],
    cursor_of: Callable[[T], Cursor],
    *,
    limit: int,
    batch: int,
    max_scanned: int,
) -> list[T]:
    """Up to ``limit`` rows ``keep`` keeps, in ``fetch``'s order.

    The first read is the page itself (``limit`` rows): a caller who sees every row is
    answered by one query. Then reads of at least ``batch`` rows after the last one read,
    until the page is full, the store has no more, or ``max_scanned`` rows were read (a
    bound on what one request costs; the page may then be short).
    """
    page: list[T] = []
    cursor: Cursor | None = None
    size, scanned = limit, 0
    while True:
        rows = await fetch(cursor, size)
        page += (await keep(rows))[: limit - len(page)]
        scanned += len(rows)
        if len(page) >= limit or len(rows) < size or scanned >= max_scanned:
            return page
        cursor = cursor_of(rows[-1])
        size = min(max(limit, batch), max_scanned - scanned)
