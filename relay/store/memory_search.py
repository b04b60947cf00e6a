"""The trigram index's half of a memory search: which rows may contain the terms.

On SQLite the FTS5 ``trigram`` table of migration 0008 answers ``MATCH '"term"'`` for a
term of 3+ characters with the rows whose ``search_text`` contains it (case-folded: a
superset of the lower-cased ``LIKE``). A search adds those ids as one more condition
next to its ``LIKE``, so the index narrows the rows and never changes the answer. When
the terms are too short, or too common for a list of ids to help (the search's ordered
scan then finds a page quickly), it narrows nothing. PostgreSQL's ``pg_trgm`` GIN
indexes serve the ``LIKE`` itself and need nothing here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from tortoise.connection import get_connection

FTS_TABLE = "memories_fts"
_NARROW_SQL = (
    "SELECT m.id FROM memories_fts f JOIN memories m ON m.rowid = f.rowid "
    "WHERE memories_fts MATCH ? LIMIT ?"
)
TRIGRAM = 3  # a trigram index cannot narrow a shorter term
MAX_NARROWED = 2000  # past this many rows, a list of ids costs more than it saves


def _phrase(term: str) -> str:
    """An FTS5 phrase: the term as consecutive trigrams, i.e. a substring match."""
    return '"' + term.replace('"', '""') + '"'


def match_expression(terms: Sequence[str], join: Literal["AND", "OR"]) -> str | None:
    """The FTS5 query for ``terms`` (lower-cased), or ``None`` if the index cannot narrow
    by them: with ``AND`` the narrowable ones suffice (each term must occur anyway); with
    ``OR`` every term must be narrowable."""
    usable = [term for term in dict.fromkeys(terms) if len(term) >= TRIGRAM]
    if not usable or (join == "OR" and len(usable) < len(set(terms))):
        return None
    return f" {join} ".join(_phrase(term) for term in usable)


async def fts_available() -> bool:
    """Whether this database has the FTS5 table (SQLite with migration 0008 in place; the
    memory bench's ``--no-index`` drops it)."""
    conn = get_connection("default")
    if conn.capabilities.dialect != "sqlite":
        return False
    _count, rows = await conn.execute_query(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [FTS_TABLE]
    )
    return bool(rows)


async def narrowed_ids(terms: Sequence[str], join: Literal["AND", "OR"]) -> list[str] | None:
    """The ids of the rows whose ``search_text`` may hold the terms (all of them with
    ``AND``, one with ``OR``), or ``None`` when the index cannot narrow (no index, short
    terms, more than ``MAX_NARROWED`` rows)."""
    expression = match_expression(terms, join)
    if expression is None or not await fts_available():
        return None
    conn = get_connection("default")
    _count, rows = await conn.execute_query(
        _NARROW_SQL,
        [expression, MAX_NARROWED + 1],
    )
    if len(rows) > MAX_NARROWED:
        return None
    return [str(row[0]) for row in rows]


_DROP = {
    "sqlite": (
        "DROP TRIGGER IF EXISTS memories_fts_insert; DROP TRIGGER IF EXISTS memories_fts_delete; "
        f"DROP TRIGGER IF EXISTS memories_fts_update; DROP TABLE IF EXISTS {FTS_TABLE};"
    ),
    "postgres": (
        "DROP INDEX IF EXISTS memories_search_text_trgm; "
        "DROP INDEX IF EXISTS memories_search_tags_trgm;"
    ),
}


async def drop_indexes() -> None:
    """Remove the search indexes (the bench's ``--no-index`` and the tests that show the
    answer is the same without them); searches then scan with ``LIKE`` alone."""
    conn = get_connection("default")
    sql = _DROP.get(conn.capabilities.dialect)
    if sql is not None:
        await conn.execute_script(sql)
