"""``visible_page``: a page filled past hidden rows, bounded, in the list's order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from relay.actors.runtime.paging import Cursor, visible_page

Fetch = Callable[[Cursor | None, int], Awaitable[list[Cursor]]]

ROWS = [(100 - i, f"r{i:03d}") for i in range(100)]  # newest first: (created_at, id)


def reader(reads: list[tuple[Cursor | None, int]]) -> Fetch:
    async def fetch(cursor: Cursor | None, size: int) -> list[tuple[int, str]]:
        reads.append((cursor, size))
        rest = [r for r in ROWS if cursor is None or r < cursor]
        return rest[:size]

    return fetch


async def every_third(rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return [r for r in rows if int(r[1][1:]) % 3 == 0]


async def everything(rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return rows


async def test_a_page_is_filled_past_hidden_rows_in_order() -> None:
    reads: list[tuple[Cursor | None, int]] = []
    page = await visible_page(
        reader(reads),
        every_third,
        lambda r: r,
        limit=5,
        batch=4,
        max_scanned=100,
    )
    assert [r[1] for r in page] == ["r000", "r003", "r006", "r009", "r012"]
    # The page itself first, then batches of at least ``batch`` after the last row read.
    assert reads[0] == (None, 5)
    assert reads[1] == (ROWS[4], 5)


async def test_who_sees_every_row_is_answered_by_one_read() -> None:
    reads: list[tuple[Cursor | None, int]] = []
    page = await visible_page(
        reader(reads),
        everything,
        lambda r: r,
        limit=7,
        batch=50,
        max_scanned=100,
    )
    assert page == ROWS[:7]
    assert reads == [(None, 7)]


async def test_the_scan_is_bounded_and_the_end_of_the_store_stops_it() -> None:
    reads: list[tuple[Cursor | None, int]] = []

    async def nothing(rows: list[tuple[int, str]]) -> list[tuple[int, str]]:
        return []

    page = await visible_page(
        reader(reads),
        nothing,
        lambda r: r,
        limit=3,
        batch=10,
        max_scanned=25,
    )
    assert page == []
    assert sum(size for _, size in reads) == 25
    reads.clear()
    page = await visible_page(
        reader(reads),
        every_third,
        lambda r: r,
        limit=50,
        batch=10,
        max_scanned=1000,
    )
    assert len(page) == 34  # every third of 100: the store ran out first
    last_cursor, last_size = reads[-1]
    assert last_cursor is not None
    assert last_size > len([r for r in ROWS if r < last_cursor])
