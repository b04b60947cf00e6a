"""The broker's SQL: its row shapes, and its candidates in its order, a page at a time.

Every part of the order but the query's score is a column: pinned first (the position of
the first pinned tag a memory carries, then ``updatedAt`` desc, id), then scope,
confidence, ``updatedAt`` desc, id. So SQL decides which rows are candidates (exactly, as
``broker_rules.is_candidate``), sorts them (a top-N sort over the rows the scope index
finds) and hands over one page; the broker packs it and asks for the next page only while
it still needs one, and then only for rows short enough to fit. The score needs each term
found in the title as Python lower-cases it, which SQL cannot say on both backends alike:
with a query, only the pinned part comes from here (``pinned_only``).

The first page also counts every candidate (for ``omittedCount``) and the ones whose text
the current redaction list has not stamped (the broker then takes its slower path), in the
same statement, so the count and the page agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from relay.domain.memory import Memory


def tags_of(raw: Any) -> tuple[str, ...]:
    value = json.loads(raw) if isinstance(raw, str | bytes) else raw
    return tuple(value or ())


@dataclass(frozen=True, slots=True)
class Candidate:
    """A row of ``scored_candidates`` or of a ``candidates`` page: the memory without its
    text (``body`` is ``""``, and so is ``title`` without terms), its stored length and,
    per term, whether it is in the stored ``search_text`` (the title, the body and the
    tags, lower-cased)."""

    memory: Memory
    chars: int
    found: tuple[bool, ...]
    stamp: str | None


LIGHT_COLUMNS = (
    "id",
    "scope",
    "scope_key",
    "visibility",
    "confidence",
    "redaction_state",
    "tags",
    "created_by",
    "version",
    "updated_at",
    "created_by_agent",
    "redaction_stamp",
)
LIGHT = ", ".join(LIGHT_COLUMNS) + ", LENGTH(title) + LENGTH(body) AS chars"
FIND = {"sqlite": "instr(search_text, ?) > 0", "postgres": "strpos(search_text, ?) > 0"}


def candidate_of(row: Sequence[Any], terms: int) -> Candidate:
    (id_, scope, key, visibility, confidence, state, tags, created_by, version) = row[:9]
    updated_at, created_by_agent, stamp, chars = row[9:13]
    memory = Memory(
        id=id_,
        scope=scope,
        scope_key=key,
        type="project",  # not read: never ordered by, and a served item is read again
        visibility=visibility,
        sensitivity="normal",
        confidence=confidence,
        redaction_state=state,
        title=row[13] if terms else "",
        body="",
        tags=tags_of(tags),
        source=None,
        created_by=created_by,
        version=version,
        serve_count=0,
        last_served_at=None,
        created_at=0,
        updated_at=updated_at,
        created_by_agent=bool(created_by_agent),
    )
    return Candidate(memory, int(chars), tuple(bool(f) for f in row[14 : 14 + terms]), stamp)


Key = tuple[int, int, int, int, str]  # pin rank, scope rank, confidence rank, -updatedAt, id


@dataclass(frozen=True, slots=True)
class Ask:
    """What the next page is: ``after`` the last key read (None: from the start), only
    pinned rows or all, only rows of at most ``max_chars`` (None: any), ``limit`` rows."""

    agent_id: str
    repo_roots: tuple[str, ...]
    pinned_tags: tuple[str, ...]
    terms: tuple[str, ...]
    stamp: str
    limit: int
    pinned_only: bool = False
    after: Key | None = None
    max_chars: int | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """Rows in order, each with its key; on the first page, ``total`` candidates and how
    many of them are not stamped by ``Ask.stamp`` (None on later pages)."""

    rows: tuple[tuple[Candidate, Key], ...]
    total: int | None
    unstamped: int | None


# A tag that stands in JSON text as itself, whatever the encoder (no quote, backslash,
# control or non-ASCII character to escape).
_PLAIN_TAG = re.compile(r"[ !#-\[\]-~]*")


def _tag_test(dialect: str, tag: str) -> tuple[str, list[Any]]:
    """Exact, case-sensitive membership of ``tag`` in the row's tags, and its values.

    On SQLite ``json_each`` is exact; a plain tag is first looked for as a substring of the
    JSON text, which rejects most rows for little. A substring test alone is not enough: the
    tag ``a"style`` is stored as ``"a\\"style"``, which contains ``"style"``.
    """
    if dialect == "postgres":
        return "jsonb_exists(tags, ?)", [tag]
    exact = "EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)"
    if _PLAIN_TAG.fullmatch(tag):
        return f"(instr(tags, ?) > 0 AND {exact})", [tag, tag]
    return exact, [tag]


def _where(dialect: str, ask: Ask) -> tuple[list[tuple[str, list[Any]]], str, list[Any]]:
    """``is_candidate`` for the agent (roots already within the token's ``cwd``): its
    scopes, one condition each, and the condition on the rest (with terms, a pinned tag
    or some term found: ``score`` > 0)."""
    scopes: list[tuple[str, list[Any]]] = [
        ("scope = 'global'", []),
        ("scope = 'agent' AND scope_key = ?", [ask.agent_id]),
    ]
    if ask.repo_roots:
        marks = ", ".join("?" * len(ask.repo_roots))
        scopes.append((f"scope = 'repo' AND scope_key IN ({marks})", list(ask.repo_roots)))
    # private: only the agent's own (an agent creator, as ``visibility.created`` reads it)
    where = (
        "sensitivity = 'normal' AND redaction_state <> 'blocked' "
        "AND (visibility <> 'private' OR (created_by = ? AND created_by_agent = ?))"
    )
    values: list[Any] = [ask.agent_id, True]
    if ask.terms:
        # the pinned tags first: the index answers them, a term needs the table's row
        find = FIND.get(dialect, FIND["sqlite"])
        tests = [_tag_test(dialect, tag) for tag in ask.pinned_tags]
        wanted = [sql for sql, _ in tests] + [find] * len(ask.terms)
        where += f" AND ({' OR '.join(wanted)})"
        values += [value for _, tag_values in tests for value in tag_values] + list(ask.terms)
    return scopes, where, values


def _keys(dialect: str, ask: Ask, pin: str, pin_values: list[Any]) -> tuple[str, list[Any]]:
    """The candidates' keys: one statement over the scopes' OR on SQLite (a MULTI-INDEX
    OR of covering scans), a UNION ALL of one per scope on PostgreSQL (where an OR is a
    bitmap scan of the table, and each part an index-only scan)."""
    scopes, where, where_values = _where(dialect, ask)
    select = (
        f"SELECT id AS mid, {pin} AS pin_rank, scope, confidence, updated_at AS ts, "  # noqa: S608
        "redaction_stamp FROM memories WHERE "
    )
    fit = "" if ask.max_chars is None else " AND LENGTH(title) + LENGTH(body) <= ?"
    fit_values = [] if ask.max_chars is None else [ask.max_chars]
    if dialect == "postgres":
        parts = [f"{select}{scope} AND {where}{fit}" for scope, _ in scopes]
        values = [
            value
            for _, scope_values in scopes
            for value in (*pin_values, *scope_values, *where_values, *fit_values)
        ]
        return " UNION ALL ".join(parts), values
    either = " OR ".join(f"({scope})" for scope, _ in scopes)
    scope_values = [value for _, values in scopes for value in values]
    return (
        f"{select}({either}) AND {where}{fit}",
        [*pin_values, *scope_values, *where_values, *fit_values],
    )


def _ranks(dialect: str, pinned_tags: Sequence[str]) -> tuple[str, list[Any], str, str]:
    """The pin rank (``len(pinned_tags)`` when none), then scope and confidence ranks (0
    for pinned rows, which order by ``updatedAt`` and id only)."""
    unpinned = len(pinned_tags)
    tests = [_tag_test(dialect, tag) for tag in pinned_tags]
    if pinned_tags:
        whens = " ".join(f"WHEN {sql} THEN {i}" for i, (sql, _) in enumerate(tests))
        pin = f"CASE {whens} ELSE {unpinned} END"
    else:
        pin = "0"
    values: list[Any] = [value for _, tag_values in tests for value in tag_values]
    scope = "CASE scope WHEN 'agent' THEN 0 WHEN 'repo' THEN 1 ELSE 2 END"
    confidence = "CASE confidence WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"
    if pinned_tags:
        scope = f"CASE WHEN pin_rank < {unpinned} THEN 0 ELSE {scope} END"
        confidence = f"CASE WHEN pin_rank < {unpinned} THEN 0 ELSE {confidence} END"
    return pin, values, scope, confidence


def page_sql(dialect: str, ask: Ask) -> tuple[str, list[Any]]:
    """The statement (``?`` placeholders) and its values.

    The candidates are ranked and counted from the columns of the ``memories_broker``
    index alone (migration 0015): only the page's rows are read from the table. A later
    page's ``max_chars`` reads the table for the rows after the last key; that page is
    asked for only while a row may still fit.
    """
    pin, pin_values, scope, confidence = _ranks(dialect, ask.pinned_tags)
    first = ask.after is None
    keys, values = _keys(dialect, ask, pin, pin_values)
    counts = (
        ", COUNT(*) OVER () AS total, "
        "SUM(CASE WHEN redaction_stamp = ? THEN 0 ELSE 1 END) OVER () AS unstamped"
        if first
        else ""
    )
    if first:
        values.insert(0, ask.stamp)
    ranked = (
        f"SELECT mid, pin_rank, ts, {scope} AS scope_rank, "  # noqa: S608
        f"{confidence} AS confidence_rank{counts} FROM ({keys}) AS keys"
    )
    mid = 'mid COLLATE "C"' if dialect == "postgres" else "mid"
    filters: list[str] = []
    if ask.pinned_only:
        filters.append(f"pin_rank < {len(ask.pinned_tags)}")
    if ask.after is not None:
        filters.append(f"(pin_rank, scope_rank, confidence_rank, -ts, {mid}) > (?, ?, ?, ?, ?)")
        values += list(ask.after)
    order = f"pin_rank, scope_rank, confidence_rank, ts DESC, {mid}"
    page = f"SELECT * FROM ({ranked}) AS ranked"  # noqa: S608 - placeholders only
    if filters:
        page += f" WHERE {' AND '.join(filters)}"
    page += f" ORDER BY {order} LIMIT {int(ask.limit)}"
    light = ", ".join(f"m.{column}" for column in LIGHT_COLUMNS)
    light += ", LENGTH(m.title) + LENGTH(m.body)"
    tail = ", page.total, page.unstamped" if first else ""
    sql = (
        f"SELECT {light}, page.pin_rank, page.ts, page.mid, page.scope_rank, "  # noqa: S608
        f"page.confidence_rank{tail} FROM ({page}) AS page "
        f"JOIN memories AS m ON m.id = page.mid ORDER BY {order}"
    )
    return sql, values


def page_of(rows: Sequence[Sequence[Any]], *, first: bool) -> Page:
    """A page from ``page_sql``'s rows: ``LIGHT``'s 13 columns, pin_rank, ts, mid,
    scope_rank, confidence_rank and, on the first page, total and unstamped."""
    read: list[tuple[Candidate, Key]] = []
    for row in rows:
        key: Key = (int(row[13]), int(row[16]), int(row[17]), -int(row[14]), str(row[15]))
        read.append((candidate_of(row[:13], 0), key))
    if not first:
        return Page(tuple(read), None, None)
    if not rows:
        return Page((), 0, 0)
    return Page(tuple(read), int(rows[0][18]), int(rows[0][19]))
