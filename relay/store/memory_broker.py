"""What the memory broker reads: an agent's live repo roots and its coarse candidates.

SQL narrows (scopes, ``normal``, not ``blocked``, shared or the agent's own, and with a
query the rows where some term or pinned tag may occur); the broker's rules then decide
exactly on the text as redacted for output, the same code on every backend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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


async def candidates(
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
