"""The exact half of a search (the store narrows, this decides), and its cursor.

Each term must occur, case-insensitively, as a substring of the title, the body or a
tag — of the text as it leaves the relay (redacted on output), and for a memory whose
text is withheld from the caller, of its tags only.
"""

from __future__ import annotations

import base64
import binascii

from relay.actors.memory.visibility import reads_text, sees
from relay.domain.memory import Memory, MemoryQuery, Viewer
from relay.errors import Invalid

INVALID_CURSOR = "cursor is invalid"


def matches(shown: Memory, query: MemoryQuery, viewer: Viewer) -> bool:
    """Whether ``shown`` (the memory redacted for output) answers ``query`` for ``viewer``."""
    if not sees(viewer, shown):
        return False
    if query.scope is not None and shown.scope != query.scope:
        return False
    if query.scope_key is not None and shown.scope_key != query.scope_key:
        return False
    if query.type is not None and shown.type != query.type:
        return False
    if query.created_by is not None and shown.created_by != query.created_by:
        return False
    if any(tag not in shown.tags for tag in query.tags):
        return False
    tags = [tag.lower() for tag in shown.tags]
    texts = [shown.title.lower(), shown.body.lower()] if reads_text(viewer, shown) else []
    return all(
        any(term in text for text in texts) or any(term in tag for tag in tags)
        for term in (t.lower() for t in query.terms)
    )


def encode_cursor(memory: Memory) -> str:
    """The position after ``memory`` in the search order (updatedAt desc, then id)."""
    raw = f"{memory.updated_at}:{memory.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """Raises Invalid ``cursor is invalid`` for anything ``encode_cursor`` did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        updated_at, _, memory_id = raw.partition(":")
        # At most 18 ASCII digits: any such number fits a signed 64-bit column, so a
        # forged huge timestamp is a bad cursor, never an overflow in the store.
        well_formed = updated_at.isascii() and updated_at.isdigit() and len(updated_at) <= 18
        if not memory_id or not well_formed:
            raise ValueError(raw)
        return int(updated_at), memory_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Invalid(INVALID_CURSOR) from None
