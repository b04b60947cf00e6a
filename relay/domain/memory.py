"""Memories: what agents learn, kept within a scope (an agent, a repo, the relay)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]

Scope = Literal["agent", "repo", "global"]
MemoryType = Literal["user", "feedback", "project", "reference"]
Visibility = Literal["shared", "private"]
Sensitivity = Literal["normal", "secret"]
Confidence = Literal["low", "medium", "high"]
RedactionState = Literal["clean", "redacted", "blocked"]
SourceKind = Literal["agent", "message", "task", "url", "manual"]
MemoryChange = Literal["created", "updated", "deleted"]

SCOPES: tuple[Scope, ...] = ("agent", "repo", "global")
TYPES: tuple[MemoryType, ...] = ("user", "feedback", "project", "reference")
VISIBILITIES: tuple[Visibility, ...] = ("shared", "private")
SENSITIVITIES: tuple[Sensitivity, ...] = ("normal", "secret")
CONFIDENCES: tuple[Confidence, ...] = ("low", "medium", "high")
REDACTION_STATES: tuple[RedactionState, ...] = ("clean", "redacted", "blocked")
SOURCE_KINDS: tuple[SourceKind, ...] = ("agent", "message", "task", "url", "manual")

TITLE_MAX = 200
TAGS_MAX = 20
TAG_MAX = 64
TAG_PATTERN = r"^[A-Za-z0-9._:-]+$"
SOURCE_REF_MAX = 500
QUERY_TERMS_MAX = 10
SEARCH_LIMIT_DEFAULT = 50
SEARCH_LIMIT_MAX = 200


def new_memory_id() -> str:
    """``mem_`` + 32 hex."""
    return f"mem_{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class Source:
    kind: SourceKind
    ref: str | None = None

    def to_json(self) -> JSON:
        return {"kind": self.kind, "ref": self.ref}


@dataclass(frozen=True, slots=True)
class Memory:
    id: str
    scope: Scope
    scope_key: str
    type: MemoryType
    visibility: Visibility
    sensitivity: Sensitivity
    confidence: Confidence
    redaction_state: RedactionState
    title: str
    body: str
    tags: tuple[str, ...]
    source: Source | None
    created_by: str
    version: int
    serve_count: int
    last_served_at: int | None
    created_at: int
    updated_at: int
    # Whether ``created_by`` names an agent (the caller's one agent) or a token's ``sub``:
    # the two share a namespace, so a rule reading one as the other would let an agent
    # registered under a token's sub claim that token's private memories.
    created_by_agent: bool = True

    def to_json(self, *, with_title: bool = True, with_body: bool = True) -> JSON:
        """The API shape. A text left out (``withheld``) is ``null`` and says so; a text
        left out of an SSE frame (``with_body=False`` alone) is absent."""
        data: JSON = {
            "id": self.id,
            "scope": self.scope,
            "scopeKey": self.scope_key,
            "type": self.type,
            "visibility": self.visibility,
            "sensitivity": self.sensitivity,
            "confidence": self.confidence,
            "redactionState": self.redaction_state,
            "title": self.title if with_title else None,
            "tags": list(self.tags),
            "source": self.source.to_json() if self.source else None,
            "createdBy": self.created_by,
            "version": self.version,
            "serveCount": self.serve_count,
            "lastServedAt": self.last_served_at,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if with_body:
            data["body"] = self.body
        return data


@dataclass(frozen=True, slots=True)
class MemoryInput:
    """A create, validated (``scopeKey`` resolved and normalised), before redaction."""

    scope: Scope
    scope_key: str
    type: MemoryType
    title: str
    body: str
    tags: tuple[str, ...] = ()
    visibility: Visibility = "shared"
    sensitivity: Sensitivity = "normal"
    confidence: Confidence = "medium"
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class MemoryPatch:
    """An update: ``None`` leaves a field as it is (``source`` is cleared with
    ``clear_source``). ``redaction_state`` is for operators (blocked / lift)."""

    type: MemoryType | None = None
    title: str | None = None
    body: str | None = None
    tags: tuple[str, ...] | None = None
    visibility: Visibility | None = None
    sensitivity: Sensitivity | None = None
    confidence: Confidence | None = None
    source: Source | None = None
    clear_source: bool = False
    redaction_state: RedactionState | None = None


@dataclass(frozen=True, slots=True)
class Redaction:
    """One pattern's matches in one field of a write: ``{field, name, count}``."""

    field: str
    name: str
    count: int

    def to_json(self) -> JSON:
        return {"field": self.field, "name": self.name, "count": self.count}


@dataclass(frozen=True, slots=True)
class MemoryQuery:
    """A search, parsed: terms lower-cased; exact filters; the cursor decoded."""

    terms: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    scope: Scope | None = None
    scope_key: str | None = None
    type: MemoryType | None = None
    created_by: str | None = None
    limit: int = SEARCH_LIMIT_DEFAULT
    # (updated_at, id) of the last item of the previous page
    after: tuple[int, str] | None = None


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads or writes: an operator, or the agents a caller acts for (resolved from
    stored state) and the ``cwd`` prefixes its token is constrained to (None: any)."""

    operator: bool
    agents: frozenset[str] = field(default_factory=frozenset)
    cwd: tuple[str, ...] | None = None
    # The token's ``sub`` when it may claim memories a principal (not an agent) created:
    # None when it acts through an agent binding of another id.
    principal: str | None = None
