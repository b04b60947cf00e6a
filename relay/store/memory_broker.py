"""What the memory broker reads: an agent's live repo roots and its candidates.

``candidates`` reads the candidates a page at a time in the broker's order, without their
text, SQL deciding exactly which rows are candidates and sorting them
(``memory_broker_sql``): the broker's path while every candidate is stamped by the current
redaction list.

The other readers narrow coarsely (scopes, ``normal``, not ``blocked``, shared or the
agent's own, and with a query the rows where some term or pinned tag may occur); the
broker's rules then decide exactly on the text as redacted for output, the same code on
every backend. ``scored_candidates`` reads each row without its text: what orders it, its
length in SQL and, per query term, whether the stored (lower-cased) ``search_text`` holds
it (the query's scored rows, and the path for unstamped rows). ``texts`` then reads the
text of the few rows the broker serves (or must redact itself), and ``full_candidates``
every row with its text (the broker's fallback).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.connection import get_connection

from relay.domain.memory import Memory
from relay.store import models
from relay.store.memory_broker_sql import (
    FIND,
    LIGHT,
    Ask,
    Candidate,
    Page,
    candidate_of,
    page_of,
    page_sql,
    tags_of,
)
from relay.store.statements import numbered

# A workspace in one of these no longer ties its agent to the repository.
ENDED_STATUSES = ("merged", "abandoned", "cleanup_requested", "cleaned")


async def live_repo_roots(agent_id: str) -> list[str]:
    """The repo roots of the agent's workspaces that have not ended (sorted, distinct)."""
    roots = (
        await models.Workspace.filter(agent_id=agent_id)
        .exclude(status__in=ENDED_STATUSES)
        .values_list("repo_root", flat=True)
    )
    return sorted({str(root) for root in roots})


# Read as plain rows in one statement: a broker call weighs thousands of rows, and the
# ORM's per-row work costs several times the query.
_COLUMNS = (
    "id, scope, scope_key, type, visibility, confidence, redaction_state, title, body, tags, "
    "created_by, version, serve_count, last_served_at, created_at, updated_at, created_by_agent"
)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def candidates_sql(
    agent_id: str, repo_roots: Sequence[str], terms: Sequence[str], pinned_tags: Sequence[str]
) -> tuple[str, list[Any]]:
    """The statement (``?`` placeholders) and its values."""
    scopes = "scope = 'global' OR (scope = 'agent' AND scope_key = ?)"
    values: list[Any] = [agent_id, agent_id]
    if repo_roots:
        scopes += f" OR (scope = 'repo' AND scope_key IN ({', '.join('?' * len(repo_roots))}))"
        values += list(repo_roots)
    where = (
        "sensitivity = 'normal' AND redaction_state <> 'blocked' "
        f"AND (visibility = 'shared' OR created_by = ?) AND ({scopes})"
    )
    sql = f"SELECT {_COLUMNS} FROM memories WHERE {where}"  # noqa: S608 - placeholders only
    if terms:
        wanted = ["search_text LIKE ? ESCAPE '\\'"] * len(terms)
        wanted += ["search_tags LIKE ? ESCAPE '\\'"] * len(pinned_tags)
        sql += f" AND ({' OR '.join(wanted)})"
        values += [_like(term) for term in terms]
        values += [_like(f"\n{tag.lower()}\n") for tag in pinned_tags]
    # No ORDER BY: the rules order the candidates, and sorting by id would make SQLite walk
    # the whole table in key order instead of using the scope index.
    return sql, values


async def full_candidates(
    agent_id: str,
    repo_roots: Sequence[str],
    *,
    terms: Sequence[str],
    pinned_tags: Sequence[str],
) -> list[Memory]:
    """A superset of the broker's candidates, in no particular order: its scopes, ``normal``, not
    ``blocked``, shared or its own. With ``terms`` (lower-cased), only rows where one may
    occur, or that carry a pinned tag (served query or not)."""
    conn = get_connection("default")
    sql, values = candidates_sql(agent_id, repo_roots, terms, pinned_tags)
    if conn.capabilities.dialect == "postgres":
        sql = numbered(sql)
    _count, rows = await conn.execute_query(sql, values)
    return [_from_values(tuple(row)) for row in rows]


async def candidates(ask: Ask) -> Page:
    """The next page of the agent's candidates in the broker's order (``memory_broker_sql``):
    SQL decides which rows are candidates, sorts them and counts them."""
    conn = get_connection("default")
    dialect = conn.capabilities.dialect
    sql, values = page_sql(dialect, ask)
    if dialect == "postgres":
        sql = numbered(sql)
    _count, rows = await conn.execute_query(sql, values)
    return page_of([tuple(row) for row in rows], first=ask.after is None)


async def scored_candidates(
    agent_id: str,
    repo_roots: Sequence[str],
    *,
    terms: Sequence[str],
    pinned_tags: Sequence[str],
) -> list[Candidate]:
    """The rows of ``full_candidates`` without their text: a broker call weighs thousands
    of rows, and their bodies are most of what reading them costs."""
    conn = get_connection("default")
    dialect = conn.capabilities.dialect
    where, values = candidates_sql(agent_id, repo_roots, terms, pinned_tags)
    where = where.split(" FROM memories ", 1)[1]
    found = "".join(f", {FIND.get(dialect, FIND['sqlite'])}" for _ in terms)
    title = ", title" if terms else ""
    sql = f"SELECT {LIGHT}{title}{found} FROM memories {where}"  # noqa: S608 - placeholders only
    values = [*terms, *values]
    if dialect == "postgres":
        sql = numbered(sql)
    _count, rows = await conn.execute_query(sql, values)
    return [candidate_of(tuple(row), len(terms)) for row in rows]


async def texts(memory_ids: Sequence[str]) -> dict[str, Memory]:
    """These memories as ``full_candidates`` reads them (with their text), by id; a row
    deleted since is missing, and the caller compares versions."""
    if not memory_ids:
        return {}
    conn = get_connection("default")
    marks = ", ".join("?" * len(memory_ids))
    sql = f"SELECT {_COLUMNS} FROM memories WHERE id IN ({marks})"  # noqa: S608
    if conn.capabilities.dialect == "postgres":
        sql = numbered(sql)
    _count, rows = await conn.execute_query(sql, list(memory_ids))
    return {str(row[0]): _from_values(tuple(row)) for row in rows}


def _from_values(row: Sequence[Any]) -> Memory:
    (id_, scope, key, type_, visibility, confidence, state, title, body, tags) = row[:10]
    created_by, version, serve_count, last_served_at, created_at, updated_at = row[10:16]
    created_by_agent = bool(row[16])
    return Memory(
        id=id_,
        scope=scope,
        scope_key=key,
        type=type_,
        visibility=visibility,
        sensitivity="normal",  # the only ones brokered
        confidence=confidence,
        redaction_state=state,
        title=title,
        body=body,
        tags=tags_of(tags),
        source=None,  # never served by the broker
        created_by=created_by,
        version=version,
        serve_count=serve_count,
        last_served_at=last_served_at,
        created_at=created_at,
        updated_at=updated_at,
        created_by_agent=created_by_agent,
    )
