"""Memory routes: create, read, update (``If-Match``), delete and search
(spec/memory.md). Every route authorizes through ``allow_memory``; every memory leaves
redacted again (``memory.shown``) with its ``ETag``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from quart import Blueprint, request
from quart_schema import document_request

from relay.actors import memory
from relay.actors.memory import visibility
from relay.actors.memory.messages import Written
from relay.auth.access import normalise_path, own_agent
from relay.domain.agents import AGENT_ID_MAX_LENGTH
from relay.domain.memory import (
    QUERY_TERMS_MAX,
    SCOPES,
    SEARCH_LIMIT_DEFAULT,
    SEARCH_LIMIT_MAX,
    SOURCE_REF_MAX,
    TAG_MAX,
    TAG_PATTERN,
    TAGS_MAX,
    TITLE_MAX,
    TYPES,
    Confidence,
    Memory,
    MemoryInput,
    MemoryPatch,
    MemoryQuery,
    MemoryType,
    Scope,
    Sensitivity,
    Source,
    SourceKind,
    Viewer,
    Visibility,
)
from relay.errors import Invalid, PreconditionRequired
from relay.http import memory_responses as shapes
from relay.http.auth import allow_memory, memory_viewer, principal, requires
from relay.http.contract import Query, int_param, responds, str_param
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_choice, query_int, query_str

bp = Blueprint("memory", __name__)

Tag = Annotated[str, StringConstraints(min_length=1, max_length=TAG_MAX, pattern=TAG_PATTERN)]
IF_MATCH_REQUIRED = "If-Match header required"
Q_MAX_CHARS = 1000


class SourceInput(Body):
    kind: SourceKind
    ref: str | None = Field(default=None, max_length=SOURCE_REF_MAX)

    def to_source(self) -> Source:
        return Source(self.kind, self.ref)


class CreateMemoryInput(Body):
    scope: Scope
    scope_key: str | None = Field(default=None, max_length=1024)
    type: MemoryType
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(min_length=1)
    tags: list[Tag] = Field(default_factory=list, max_length=TAGS_MAX)
    visibility: Visibility = "shared"
    sensitivity: Sensitivity = "normal"
    confidence: Confidence = "medium"
    source: SourceInput | None = None


class UpdateMemoryInput(Body):
    type: MemoryType | None = None
    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    body: str | None = Field(default=None, min_length=1)
    tags: list[Tag] | None = Field(default=None, max_length=TAGS_MAX)
    visibility: Visibility | None = None
    sensitivity: Sensitivity | None = None
    confidence: Confidence | None = None
    source: SourceInput | None = None
    # Operators only: quarantine (``blocked``) and lift (``clean``).
    redaction_state: Literal["clean", "blocked"] | None = None
    # Never change: named here so sending them is refused, not silently ignored.
    scope: Any = None
    scope_key: Any = None


def _check_body(text: str | None) -> None:
    limit = services().runtime.settings.memory_max_body_chars
    if text is not None and len(text) > limit:
        raise Invalid(f"body must be at most {limit} characters")


def scope_key_of(scope: Scope, given: str | None, agent: str | None) -> str:
    """The stored ``scopeKey``: an agent id (default: the caller's one agent), a
    normalised absolute repo root, or ``""`` for global."""
    if scope == "global":
        if given:
            raise Invalid("scopeKey must be empty for scope global")
        return ""
    if scope == "agent":
        key = given or agent
        if not key:
            raise Invalid("scopeKey is required")
        if len(key) > AGENT_ID_MAX_LENGTH:
            # An agent id: its memory's events name the agent (a column of that width).
            raise Invalid(
                f"scopeKey must be at most {AGENT_ID_MAX_LENGTH} characters for scope agent"
            )
        return key
    if not given:
        raise Invalid("scopeKey is required")
    if not given.startswith("/"):
        raise Invalid("scopeKey must be an absolute path")
    return normalise_path(given)


def created_by() -> tuple[str, bool]:
    """The sender rule: the caller's one agent, else its ``sub``; and whether it is an
    agent (stored, so no later rule reads a token's sub as an agent id)."""
    caller = principal()
    agent = own_agent(caller)
    return (agent, True) if agent is not None else (caller.sub, False)


def render(item: Memory, viewer: Viewer) -> dict[str, Any]:
    """A memory as this caller may see it, redacted for output."""
    shown = memory.shown(services().runtime, item)
    readable = visibility.reads_text(viewer, shown)
    data = shown.to_json(with_title=readable, with_body=True)
    if not readable:
        data["body"] = None
    data["withheld"] = not readable
    return data


def etag(item: Memory) -> dict[str, str]:
    return {"ETag": f'"{item.version}"'}


def written_reply(written: Written, viewer: Viewer) -> dict[str, Any]:
    """A write's reply (the routes' and ``memory_write``'s): the memory as ``render`` shows
    it and what redaction replaced, less what concerns a text withheld from the caller."""
    shown = visibility.visible_redactions(viewer, written.memory, written.redactions)
    return {**render(written.memory, viewer), "redactions": [r.to_json() for r in shown]}


def if_match(*, required: bool) -> int | None:
    """``If-Match: "<version>"`` (or ``*``, returned as None). 428 when required and absent."""
    raw = request.headers.get("If-Match")
    if raw is None or not raw.strip():
        if required:
            raise PreconditionRequired(IF_MATCH_REQUIRED)
        return None
    value = raw.strip()
    if value == "*":
        return None
    digits = value.removeprefix("W/").strip('"')
    # ASCII digits only: ``isdigit`` also takes "²", which ``int`` refuses.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise Invalid('If-Match must be "<version>" or *')
    return int(digits)


async def create_memory(data: CreateMemoryInput) -> tuple[Written, Viewer]:
    """The create both the route and ``memory_write`` run."""
    _check_body(data.body)
    key = scope_key_of(data.scope, data.scope_key, own_agent(principal()))
    viewer = await allow_memory("create", scope=data.scope, scope_key=key)
    draft = MemoryInput(
        scope=data.scope,
        scope_key=key,
        type=data.type,
        title=data.title,
        body=data.body,
        tags=tuple(data.tags),
        visibility=data.visibility,
        sensitivity=data.sensitivity,
        confidence=data.confidence,
        source=data.source.to_source() if data.source else None,
    )
    creator, is_agent = created_by()
    return await memory.create(services().runtime, draft, creator, is_agent), viewer


async def update_memory(
    memory_id: str, data: UpdateMemoryInput, version: int | None
) -> tuple[Written, Viewer]:
    """The update both the route and ``memory_write`` run."""
    if data.scope is not None or data.scope_key is not None:
        raise Invalid("scope cannot change")
    _check_body(data.body)
    rt = services().runtime
    # Who may write is judged by the memory's actor on the version it replaces.
    viewer = await memory_viewer()
    patch = MemoryPatch(
        type=data.type,
        title=data.title,
        body=data.body,
        tags=tuple(data.tags) if data.tags is not None else None,
        visibility=data.visibility,
        sensitivity=data.sensitivity,
        confidence=data.confidence,
        source=data.source.to_source() if data.source else None,
        clear_source="source" in data.model_fields_set and data.source is None,
        redaction_state=data.redaction_state,
    )
    return await memory.update(rt, memory_id, patch, version, viewer), viewer


def terms_of(q: str | None) -> tuple[str, ...]:
    """``q``'s whitespace-separated terms (at most 10)."""
    terms = tuple(q.split()) if q else ()
    if len(terms) > QUERY_TERMS_MAX:
        raise Invalid(f"q must have at most {QUERY_TERMS_MAX} terms")
    return terms


def parse_query() -> MemoryQuery:
    terms = terms_of(query_str("q", max_length=Q_MAX_CHARS))
    tags = tuple(request.args.getlist("tag"))
    if len(tags) > TAGS_MAX or any(not t or len(t) > TAG_MAX for t in tags):
        raise Invalid(f"tag must be at most {TAG_MAX} characters, at most {TAGS_MAX} times")
    cursor = query_str("cursor", max_length=500)
    return MemoryQuery(
        terms=terms,
        tags=tags,
        scope=query_choice("scope", SCOPES),  # type: ignore[arg-type]  # one of SCOPES
        scope_key=query_str("scopeKey", max_length=1024),
        type=query_choice("type", TYPES),  # type: ignore[arg-type]  # one of TYPES
        created_by=query_str("createdBy", max_length=200),
        limit=query_int("limit", SEARCH_LIMIT_DEFAULT, low=1, high=SEARCH_LIMIT_MAX),
        after=memory.search.decode_cursor(cursor) if cursor else None,
    )


async def search(query: MemoryQuery) -> dict[str, Any]:
    """The search both the route and ``memory_search`` run."""
    viewer = await allow_memory("read")
    items, next_cursor = await memory.find(services().runtime, query, viewer)
    return {"items": [render(item, viewer) for item in items], "nextCursor": next_cursor}


@bp.post("/api/memory")
@responds({201: shapes.WrittenMemory}, errors=(400, 403))
@document_request(CreateMemoryInput)
@requires("memory:write")
async def post_memory() -> tuple[dict[str, Any], int, dict[str, str]]:
    data = await parse_body(CreateMemoryInput)
    written, viewer = await create_memory(data)
    return written_reply(written, viewer), 201, etag(written.memory)


@bp.get("/api/memory/<memory_id>")
@responds(shapes.Memory, errors=(403, 404))
@requires("memory:read")
async def get_memory(memory_id: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    # The caller first: one acting for no agent is refused before the id is looked up, so
    # 403 and 404 do not tell it which ids exist.
    viewer = await memory_viewer()
    stored = await memory.load(services().runtime, memory_id)
    await allow_memory("read", stored, viewer=viewer)
    return render(stored, viewer), 200, etag(stored)


@bp.patch("/api/memory/<memory_id>")
@responds(shapes.WrittenMemory, errors=(400, 403, 404, 409, 428))
@document_request(UpdateMemoryInput)
@requires("memory:write")
async def patch_memory(memory_id: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    version = if_match(required=True)
    data = await parse_body(UpdateMemoryInput)
    written, viewer = await update_memory(memory_id, data, version)
    return written_reply(written, viewer), 200, etag(written.memory)


@bp.delete("/api/memory/<memory_id>")
@responds(shapes.DeletedMemory, errors=(400, 403, 404, 409))
@requires("memory:write")
async def delete_memory(memory_id: str) -> dict[str, Any]:
    version = if_match(required=False)
    # Judged by the memory's actor on the version it deletes.
    await memory.delete(services().runtime, memory_id, version, await memory_viewer())
    return {"ok": True, "id": memory_id}


@bp.get("/api/memory")
@responds(
    shapes.MemoryPage,
    errors=(400, 403),
    query=(
        str_param("q", Q_MAX_CHARS, description="up to 10 terms, each a substring"),
        Query("tag", {"type": "string", "maxLength": TAG_MAX}, "repeatable; all present"),
        str_param("scope", enum=SCOPES),
        str_param("scopeKey", 1024),
        str_param("type", enum=TYPES),
        str_param("createdBy", 200),
        int_param("limit", 1, SEARCH_LIMIT_MAX),
        str_param("cursor", 500, description="the previous page's nextCursor"),
    ),
)
@requires("memory:read")
async def search_memory() -> dict[str, Any]:
    return await search(parse_query())
