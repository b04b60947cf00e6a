"""``memory_write`` and ``memory_search``: ``POST``/``PATCH /api/memory`` and
``GET /api/memory`` as the token's agent (spec/memory.md, "Events, settings, MCP").

The caller's agent is the default agent-scope ``scopeKey``; ``repoRoot`` is a repo
memory's. ``scope: global`` is refused (``forbidden``): global memories are written by
operators, never by an agent's token. Both tools run the routes' own create, update and
search (``relay.http.memory``), so a tool cannot answer otherwise than its route.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from relay.domain.memory import (
    SEARCH_LIMIT_DEFAULT,
    SEARCH_LIMIT_MAX,
    TAG_MAX,
    TAGS_MAX,
    TITLE_MAX,
    Confidence,
    MemoryQuery,
    MemoryType,
    Scope,
    Sensitivity,
    Visibility,
)
from relay.errors import Forbidden, Invalid
from relay.http import memory as routes
from relay.http.mcp.tools import JSON, Tool
from relay.http.validation import Body


class MemoryWriteArguments(Body):
    id: str | None = Field(default=None, min_length=1, max_length=64)
    version: int | None = Field(default=None, ge=1)
    scope: Scope = "agent"
    repo_root: str | None = Field(default=None, max_length=1024)
    type: MemoryType | None = None
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    body: str | None = Field(default=None, min_length=1)
    tags: list[routes.Tag] | None = Field(default=None, max_length=TAGS_MAX)
    confidence: Confidence | None = None
    sensitivity: Sensitivity | None = None
    visibility: Visibility | None = None


class MemorySearchArguments(Body):
    q: str | None = Field(default=None, max_length=routes.Q_MAX_CHARS)
    tag: list[str] = Field(default_factory=list, max_length=TAGS_MAX)
    type: MemoryType | None = None
    scope: Scope | None = None
    limit: int = Field(default=SEARCH_LIMIT_DEFAULT, ge=1, le=SEARCH_LIMIT_MAX)

    @field_validator("tag")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        if any(not t or len(t) > TAG_MAX for t in tags):
            raise ValueError(f"tag must be at most {TAG_MAX} characters, at most {TAGS_MAX} times")
        return tags


async def write(caller: str, arguments: MemoryWriteArguments) -> JSON:
    if arguments.scope == "global":
        raise Forbidden("forbidden")
    if arguments.id is None:
        return await _create(caller, arguments)
    if arguments.version is None:
        raise Invalid("version is required")
    data = routes.UpdateMemoryInput(
        type=arguments.type,
        title=arguments.title,
        body=arguments.body,
        tags=arguments.tags,
        confidence=arguments.confidence,
        sensitivity=arguments.sensitivity,
        visibility=arguments.visibility,
    )
    written, viewer = await routes.update_memory(arguments.id, data, arguments.version)
    return routes.written_reply(written, viewer)


async def _create(caller: str, arguments: MemoryWriteArguments) -> JSON:
    for name in ("type", "title", "body"):
        if getattr(arguments, name) is None:
            raise Invalid(f"{name} is required")
    fields: dict[str, Any] = {
        "scope": arguments.scope,
        "scope_key": caller if arguments.scope == "agent" else arguments.repo_root,
        "type": arguments.type,
        "title": arguments.title,
        "body": arguments.body,
        "tags": arguments.tags or [],
    }
    for name in ("confidence", "sensitivity", "visibility"):
        if getattr(arguments, name) is not None:
            fields[name] = getattr(arguments, name)
    written, viewer = await routes.create_memory(routes.CreateMemoryInput(**fields))
    return routes.written_reply(written, viewer)


async def search(_caller: str, arguments: MemorySearchArguments) -> JSON:
    query = MemoryQuery(
        terms=routes.terms_of(arguments.q),
        tags=tuple(arguments.tag),
        type=arguments.type,
        scope=arguments.scope,
        limit=arguments.limit,
    )
    return await routes.search(query)


WRITE = Tool(
    name="memory_write",
    description=(
        "Remember something. Without id: create (scope agent: yours; scope repo: repoRoot)."
        " With id and version: update that memory if version is still current (else a"
        " version conflict names the current one). Secrets in the text are redacted."
    ),
    scope="memory:write",
    arguments=MemoryWriteArguments,
    run=write,
)

SEARCH = Tool(
    name="memory_search",
    description=(
        "Search the memories you can see: every word of q as a substring of the title,"
        " body or a tag; filter by tag (all), type, scope; newest first, up to limit."
    ),
    scope="memory:read",
    arguments=MemorySearchArguments,
    run=search,
)
