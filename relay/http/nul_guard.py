"""No NUL character (U+0000) reaches the store.

PostgreSQL cannot hold U+0000 in text or jsonb ("invalid byte sequence for encoding UTF8:
0x00"): one in an id, a query parameter, a body string or a JSON key was a 500 there (and
a dead actor, 503, when it reached one), while SQLite stored it. No field of the API has a
use for it, so it is refused at the edge, the same on every store: in the URL path (no
resource has such a name: 404), in the query string (400), in a JSON body (400).
"""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from relay.errors import Invalid, NotFound

NUL = "\x00"
_ESCAPED_NUL = b"\\u0000"  # the only way JSON text can carry U+0000


def refuse_nul_in_url(path: str, args: MultiDict[str, str]) -> None:
    """404 for U+0000 in the path (nothing has such a name), 400 for one in the query."""
    if NUL in path:
        raise NotFound("not found")
    if any(NUL in key or NUL in value for key, value in args.items(multi=True)):
        raise Invalid("query parameters must not contain NUL characters")


def refuse_nul_in_body(raw: str | bytes, data: Any) -> None:
    """400 if the decoded body holds U+0000 in any string or key, naming the top-level field.

    The decoded value is only walked when the raw text has the escape at all, so bodies
    without one (nearly all) cost a byte search.
    """
    text = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    if _ESCAPED_NUL not in text or not _holds_nul(data):
        return
    if isinstance(data, dict):  # name the field, as the other field errors do
        for key, value in data.items():
            if NUL not in key and _holds_nul(value):
                raise Invalid(f"{key} must not contain NUL characters")
    raise Invalid("body must not contain NUL characters")


def _holds_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
