"""Keyset paging of a newest-first list ordered by ``(created_at, id)``, descending."""

from __future__ import annotations

from tortoise.expressions import Q

# Where such a list continues: the ``(created_at, id)`` of the last row read.
Cursor = tuple[int, str]


def older_than(cursor: Cursor) -> Q:
    """The rows after ``cursor`` in the list's order: older, or as old with a lower id."""
    created_at, row_id = cursor
    return Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=row_id)
