"""Versioned config as values: entries, revisions, write outcomes and the naming rules.

A config entry lives at ``(namespace, key)`` and carries a version that grows by one
with every write. Every write, a delete included, appends a revision to the key's
history, so a key's versions keep counting across a delete: a key deleted at
version 3 and written again comes back at version 5 (4 is the delete).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from relay.errors import Invalid

JSON = dict[str, Any]

NAMESPACE_MAX_LENGTH = 100
KEY_MAX_LENGTH = 200
UPDATED_BY_MAX_LENGTH = 200

STEWARD_NAMESPACE = "steward"
STEWARD_KEY = "global"
AGENT_PROFILES_NAMESPACE = "agent-profiles"
SPAWN_POLICIES_NAMESPACE = "spawn-policies"

_NAME = re.compile(r"[A-Za-z0-9._-]+")
# A NUL in encoded JSON: "\u0000" after an even number of backslashes (an odd run
# would be an escaped backslash followed by the text "u0000").
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """The current value of one key."""

    namespace: str
    key: str
    version: int
    value: Any
    updated_at: int
    updated_by: str | None

    def to_json(self) -> JSON:
        return {
            "namespace": self.namespace,
            "key": self.key,
            "version": self.version,
            "value": self.value,
            "updatedAt": self.updated_at,
            "updatedBy": self.updated_by,
        }


@dataclass(frozen=True, slots=True)
class ConfigRevision:
    """One line of a key's history: a written value, or a delete (``value`` is then None)."""

    namespace: str
    key: str
    version: int
    value: Any
    deleted: bool
    updated_at: int
    updated_by: str | None

    def to_json(self) -> JSON:
        return {
            "namespace": self.namespace,
            "key": self.key,
            "version": self.version,
            "value": self.value,
            "deleted": self.deleted,
            "updatedAt": self.updated_at,
            "updatedBy": self.updated_by,
        }


@dataclass(frozen=True, slots=True)
class ConfigWrite:
    """A request to set ``(namespace, key)`` to ``value``.

    ``expected_version`` (optional) is the version the writer last saw; 0 means
    "the key must not exist". ``value`` is already validated (see ``check_value``).
    """

    namespace: str
    key: str
    value: Any
    updated_by: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True, slots=True)
class Written:
    """A committed write; ``created`` when the key did not exist before it."""

    entry: ConfigEntry
    created: bool


@dataclass(frozen=True, slots=True)
class VersionConflict:
    """A write refused because the key is not at the version the writer expected."""

    current_version: int

    @property
    def message(self) -> str:
        return f"version conflict: current version is {self.current_version}"


def check_name(field: str, value: str, max_length: int) -> str:
    """Validate a namespace, key or profile name; raises ``Invalid`` naming ``field``."""
    if not value:
        raise Invalid(f"{field} must not be empty")
    if len(value) > max_length:
        raise Invalid(f"{field} must be at most {max_length} characters")
    if not _NAME.fullmatch(value):
        raise Invalid(f"{field} may only contain letters, digits, '.', '_' and '-'")
    return value


def check_namespace(namespace: str) -> str:
    """A namespace from a URL, validated (1-100 of ``[A-Za-z0-9._-]``); raises ``Invalid``."""
    return check_name("namespace", namespace, NAMESPACE_MAX_LENGTH)


def check_key(key: str) -> str:
    """A key from a URL, validated (1-200 of ``[A-Za-z0-9._-]``); raises ``Invalid``."""
    return check_name("key", key, KEY_MAX_LENGTH)


def check_value(value: Any, max_bytes: int, *, field: str = "value") -> Any:
    """Validate a config value: present, storable as JSON, at most ``max_bytes`` serialized.

    JSON null is refused (``DELETE`` removes an entry); so are NaN/Infinity and NUL
    characters, which JSON columns (PostgreSQL ``jsonb``) cannot hold. Raises ``Invalid``.
    """
    if value is None:
        raise Invalid(f"{field} must not be null")
    try:
        text = encode(value)
    except ValueError:
        raise Invalid(f"{field} must not contain NaN or Infinity") from None
    except RecursionError:
        raise Invalid(f"{field} is nested too deeply") from None
    if len(text.encode("utf-8")) > max_bytes:
        raise Invalid(f"{field} must be at most {max_bytes} bytes")
    if _NUL_ESCAPE.search(text):
        raise Invalid(f"{field} must not contain NUL characters")
    return value


def encode(value: Any) -> str:
    """The compact JSON text of a value (what the store keeps and the size limit counts)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
