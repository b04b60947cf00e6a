"""What the memory broker reads: an agent's live repo roots and its coarse candidates.

SQL narrows (scopes, ``normal``, not ``blocked``, shared or the agent's own, and with a
query the rows where some term or pinned tag may occur); the broker's rules then decide
exactly on the text as redacted for output, the same code on every backend.

``candidates`` reads each row without its text: what orders it, its length in SQL and,
per query term, whether the stored (lower-cased) ``search_text`` holds it. ``texts`` then
reads the text of the few rows the broker serves (or must redact itself), and
``full_candidates`` every row with its text (the broker's fallback).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.connection import get_connection

from relay.domain.memory import Memory
from relay.store import models

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


def _numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …``."""
    parts = sql.split("?")
    return "".join(
        part + (f"${index}" if index < len(parts) else "") for index, part in enumerate(parts, 1)
    )


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
        sql = _numbered(sql)
    _count, rows = await conn.execute_query(sql, values)
    return [_from_values(tuple(row)) for row in rows]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A row of ``candidates``: the memory without its text (``body`` is ``""``, and so is
    ``title`` without terms), its stored length and, per term, whether it is in the
    stored ``search_text`` (the title, the body and the tags, lower-cased)."""

    memory: Memory
    chars: int
    found: tuple[bool, ...]
    stamp: str | None


_LIGHT = (
    "id, scope, scope_key, visibility, confidence, redaction_state, tags, created_by, "
    "version, updated_at, created_by_agent, redaction_stamp, LENGTH(title) + LENGTH(body)"
)
_FIND = {"sqlite": "instr(search_text, ?) > 0", "postgres": "strpos(search_text, ?) > 0"}


async def candidates(
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
    found = "".join(f", {_FIND.get(dialect, _FIND['sqlite'])}" for _ in terms)
    title = ", title" if terms else ""
    sql = f"SELECT {_LIGHT}{title}{found} FROM memories {where}"  # noqa: S608 - placeholders only
    values = [*terms, *values]
    if dialect == "postgres":
        sql = _numbered(sql)
    _count, rows = await conn.execute_query(sql, values)
    return [_candidate(tuple(row), len(terms)) for row in rows]


def _candidate(row: Sequence[Any], terms: int) -> Candidate:
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
        tags=_tags(tags),
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


async def texts(memory_ids: Sequence[str]) -> dict[str, Memory]:
    """These memories as ``full_candidates`` reads them (with their text), by id; a row
    deleted since is missing, and the caller compares versions."""
    if not memory_ids:
        return {}
    conn = get_connection("default")
    marks = ", ".join("?" * len(memory_ids))
    sql = f"SELECT {_COLUMNS} FROM memories WHERE id IN ({marks})"  # noqa: S608
    if conn.capabilities.dialect == "postgres":
        sql = _numbered(sql)
    _count, rows = await conn.execute_query(sql, list(memory_ids))
    return {str(row[0]): _from_values(tuple(row)) for row in rows}


def _tags(raw: Any) -> tuple[str, ...]:
    value = json.loads(raw) if isinstance(raw, str | bytes) else raw
    return tuple(value or ())


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
        tags=_tags(tags),
        source=None,  # never served by the broker
        created_by=created_by,
        version=version,
        serve_count=serve_count,
        last_served_at=last_served_at,
        created_at=created_at,
        updated_at=updated_at,
        created_by_agent=created_by_agent,
    )
